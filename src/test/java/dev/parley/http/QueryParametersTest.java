package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.json.Json;
import dev.parley.support.Fixtures;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import java.io.IOException;
import java.net.URI;
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
        assertThat(response.json().get("detail").asText()).contains("known parameters: [cursor, external_id, ids, limit, metadata, traits]");
    }

    @Test
    void a_parameter_with_no_name_is_told_so() {
        Api.Response response = api.get("/v1/stats/messages?=x");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("detail").asText()).startsWith("a parameter with no name (\"?=value\") is not a query "
                + "parameter of this request; known parameters: [window]");
    }

    @Test
    void a_single_valued_parameter_given_twice_is_refused() {
        Api.Response response = api.get("/v1/characters?limit=5&limit=50");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("limit");
        assertThat(response.json().get("detail").asText()).contains("given 2 times");
    }

    /** From outside: a trailing "&" was "  is not a query parameter", naming an empty one; other scripts' digits were read. */
    @Test
    void an_empty_piece_is_no_parameter_and_numbers_are_written_as_json_writes_them() {
        String user = Fixtures.user(api, "pieces");
        assertThat(api.get("/v1/characters?limit=5&").status()).isEqualTo(200);
        assertThat(api.get("/v1/characters?&&limit=5").status()).isEqualTo(200);
        assertThat(api.get("/v1/characters?=5").status()).as("a value without a name").isEqualTo(400);

        for (String limit : new String[] {"%D9%A2", "%EF%BC%95"}) { // Arabic-Indic 2, fullwidth 5
            var refused = api.get("/v1/characters?limit=" + limit);
            assertThat(refused.status()).as(limit).isEqualTo(400);
            assertThat(refused.json().get("detail").asText()).contains("limit must be an integer");
        }
        String character = Fixtures.character(api, "Luna");
        for (String importance : new String[] {"0x1p-2", "0.5f", "0.5d", "+0.5", ".5"}) {
            var refused = api.get("/v1/users/" + user + "/memories?character_id=" + character + "&min_importance=" + importance);
            assertThat(refused.status()).as(importance).isEqualTo(400);
            assertThat(refused.json().get("detail").asText()).contains("min_importance must be a number between 0 and 1");
        }
        assertThat(api.get("/v1/users/" + user + "/memories?character_id=" + character + "&min_importance=2.5e-1").status())
                .isEqualTo(200);
    }

    /** From outside: a filter nested too deep was "must be a JSON object", which it was. */
    @Test
    void a_json_filter_nested_past_the_limit_is_named_for_its_depth() {
        String deep = "{\"a\":".repeat(70) + "1" + "}".repeat(70);

        var refused = api.get("/v1/characters?traits=" + java.net.URLEncoder.encode(deep, java.nio.charset.StandardCharsets.UTF_8));

        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("detail").asText()).contains("traits is beyond Parley's limits").contains("nesting depth")
                .doesNotContain("`");
    }

    @Test
    void declared_parameters_still_work() {
        String luna = Fixtures.character(api, "Luna");

        assertThat(api.getOk("/v1/characters?limit=5").get("characters")).extracting(c -> c.get("id").asText())
                .containsExactly(luna);
    }

    @Test
    void every_route_refuses_a_parameter_name_that_is_not_a_well_formed_escape() throws IOException {
        JsonNode paths = api.getOk("/openapi.json").get("paths");
        List<String> checked = new ArrayList<>();
        for (var path : paths.properties()) {
            for (var operation : path.getValue().properties()) {
                String method = operation.getKey().toUpperCase(java.util.Locale.ROOT);
                String target = path.getKey().replaceAll("\\{[a-z_]+}", "1") + "?%ZZ=1";

                JsonNode problem = refused(method, target);

                assertThat(problem.get("errors").get(0).get("field").asText()).as(method + " " + target).isEqualTo("%ZZ");
                checked.add(method + " " + path.getKey());
            }
        }

        assertThat(checked).as("every operation of the document").hasSizeGreaterThan(40);
    }

    /**
     * Jetty leaves a pair it cannot decode out of the parameters it hands over; each of these was answered 200 as if
     * the parameter had not been sent: every user's conversations, a soft delete, a search of the whole app.
     */
    @Test
    void a_malformed_escape_in_a_value_is_a_400_naming_its_parameter_on_every_route_that_reads_it() throws IOException {
        String character = Fixtures.character(api, "Luna");
        String user = Fixtures.user(api, "malformed-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, character);
        String message = Fixtures.say(api, conversation, "user", "lorem ipsum").get("id").asText();
        String messages = "/v1/conversations/" + conversation + "/messages";
        record Case(String method, String target, String field) {
        }
        List<Case> cases = List.of(
                new Case("GET", "/v1/conversations?user_id=" + user + "%", "user_id"),
                new Case("DELETE", messages + "/" + message + "?hard=true%", "hard"),
                new Case("GET", "/v1/search/messages?q=lorem&conversation_id=" + conversation + "%", "conversation_id"),
                new Case("GET", messages + "?role=assistant%&limit=1", "role"),
                new Case("GET", messages + "?limit=%ZZ", "limit"),
                new Case("GET", "/v1/conversations?cursor=%%%%", "cursor"),
                new Case("GET", "/v1/users?external_id=%ZZ", "external_id"),
                new Case("GET", "/v1/characters?limit=%2", "limit"),
                new Case("GET", "/v1/characters?lim%it=5", "lim%it"));

        for (Case sent : cases) {
            JsonNode problem = refused(sent.method(), sent.target());

            JsonNode error = problem.get("errors").get(0);
            assertThat(error.get("field").asText()).as(sent.target()).isEqualTo(sent.field());
            assertThat(error.get("detail").asText()).as(sent.target()).contains("not a %-escape").contains("%25");
        }
        assertThat(api.getOk(messages + "/" + message).get("deleted_at").isNull())
                .as("the DELETE whose hard=true% was dropped deleted nothing").isTrue();
    }

    @Test
    void well_formed_escapes_still_decode() {
        String user = Fixtures.user(api, "tel:+4915112345678 50%");

        assertThat(api.getOk("/v1/users?external_id=tel:%2B4915112345678%2050%25").get("id").asText()).isEqualTo(user);
    }

    /** {@code target} sent as written (an HTTP library would refuse, or fix, a malformed escape): its 400 problem. */
    private JsonNode refused(String method, String target) throws IOException {
        int port = URI.create(api.base()).getPort();
        try (var http = new RawHttp(port)) {
            var response = http.send(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                    + api.key() + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            assertThat(response.status()).as(method + " " + target + ": " + response).isEqualTo(400);
            assertThat(response.headers().get("content-type")).as(method + " " + target).startsWith("application/problem+json");
            JsonNode problem = Json.parse(response.body());
            assertThat(problem.get("type").asText()).as(method + " " + target).endsWith("/invalid-request");
            return problem;
        }
    }
}
