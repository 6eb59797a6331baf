package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A query parameter a route does not declare answers 400 naming it, on every route of the API
 * document, as an unknown body field does: a guessed filter never returns unfiltered rows with 200.
 */
class QueryParametersTest {
    private final Api api = TestServer.newApp();

    @Test
    void every_route_refuses_a_parameter_it_does_not_declare() {
        JsonNode paths = api.getOk("/openapi.json").get("paths");
        List<String> checked = new ArrayList<>();
        paths.properties().forEach(path -> path.getValue().properties().forEach(operation -> {
            String method = operation.getKey().toUpperCase(java.util.Locale.ROOT);
            String url = path.getKey().replaceAll("\\{[a-z_]+}", "1") + "?guessed_filter=x";
            Api.Response response = api.sendBytes(method, url, null);

            assertThat(response.status()).as(method + " " + url + ": " + response).isEqualTo(400);
            assertThat(response.isProblem()).as(method + " " + url).isTrue();
            JsonNode error = response.json().get("errors").get(0);
            assertThat(error.get("field").asText()).as(method + " " + url).isEqualTo("guessed_filter");
            assertThat(error.get("detail").asText()).as(method + " " + url).contains("not a query parameter");
            checked.add(method + " " + path.getKey());
        }));

        assertThat(checked).as("every operation of the document").hasSizeGreaterThan(40)
                .contains("GET /v1/characters", "POST /v1/conversations", "GET /health", "GET /openapi.json");
    }

    @Test
    void a_guessed_filter_on_characters_no_longer_returns_every_row() {
        Fixtures.character(api, "Luna");
        Fixtures.character(api, "Sol");

        Api.Response response = api.get("/v1/characters?name=Luna");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("name");
        assertThat(response.json().get("detail").asText()).contains("known parameters: [cursor, ids, limit, metadata, traits]");
    }

    @Test
    void a_single_valued_parameter_given_twice_is_refused() {
        Api.Response response = api.get("/v1/characters?limit=5&limit=50");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("limit");
        assertThat(response.json().get("detail").asText()).contains("given 2 times");
    }

    @Test
    void declared_parameters_still_work() {
        String luna = Fixtures.character(api, "Luna");

        assertThat(api.getOk("/v1/characters?limit=5").get("characters")).extracting(c -> c.get("id").asText())
                .containsExactly(luna);
    }
}
