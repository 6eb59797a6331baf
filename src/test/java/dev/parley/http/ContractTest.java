package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Contract;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The check every test's responses go through (support.Api): it holds Parley to its API document, so
 * here it must refuse what the document does not say, and accept what Parley really sends.
 */
class ContractTest {
    private final Api api = TestServer.newApp();
    private final Contract contract = new Contract(api.get("/openapi.json").text());

    @Test
    void a_real_response_keeps_to_the_document() {
        String id = Fixtures.character(api, "Luna");
        var response = api.get("/v1/characters/" + id);

        assertThat(contract.check("GET", "/v1/characters/" + id, 200, response.contentType(), response.raw().body())).isEmpty();
    }

    /** These 404s come from an id in the query, not in the path: the document lists them, not only its default. */
    @Test
    void an_id_named_in_the_query_that_does_not_exist_is_a_documented_404() {
        var paths = api.getOk("/openapi.json").get("paths");
        for (String path : java.util.List.of("/v1/users?external_id=nobody", "/v1/search/messages?q=tea&user_id=987654321",
                "/v1/search/messages?q=tea&conversation_id=987654321", "/v1/search/memories?q=tea&user_id=987654321")) {
            var response = api.get(path);
            assertThat(response.status()).as(path).isEqualTo(404);
            assertThat(response.isProblem()).as(path).isTrue();
            assertThat(paths.get(path.substring(0, path.indexOf('?'))).get("get").get("responses").has("404")).as(path).isTrue();
        }
    }

    @Test
    void a_number_for_an_id_a_null_where_none_is_allowed_or_a_missing_field_is_refused() {
        String id = Fixtures.character(api, "Luna");
        String body = api.get("/v1/characters/" + id).text();

        assertThat(check(200, "application/json", body.replace("\"id\":\"" + id + "\"", "\"id\":" + id)))
                .singleElement().asString().contains("/id").contains("integer found, string expected");
        assertThat(check(200, "application/json", body.replace("\"name\":\"Luna\"", "\"name\":null"))).isNotEmpty();
        assertThat(check(200, "application/json", body.replace("\"name\":\"Luna\",", ""))).singleElement().asString()
                .contains("required property 'name'");
    }

    @Test
    void a_status_or_content_type_the_document_does_not_list_is_refused() {
        assertThat(check(202, "application/json", "{}")).singleElement().asString().contains("lists no 202");
        assertThat(check(404, "application/json", "{}")).singleElement().asString().contains("application/problem+json");
        assertThat(check(404, "application/problem+json", "{\"type\":\"x\"}")).isNotEmpty(); // a problem lacks its fields
    }

    private java.util.List<String> check(int status, String contentType, String body) {
        return contract.check("GET", "/v1/characters/1", status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void a_header_the_document_promises_must_be_there() {
        String id = Fixtures.character(api, "Luna");
        var response = api.get("/v1/characters/" + id);
        byte[] body = response.raw().body();

        assertThat(contract.check("GET", "/v1/characters/" + id, 200, response.contentType(), body, name -> !name.equals("ETag")))
                .singleElement().asString().contains("no ETag header");
        assertThat(contract.check("GET", "/v1/characters/" + id, 503, "application/problem+json",
                api.get("/v1/characters/999").raw().body(), name -> !name.equals("Retry-After")))
                .singleElement().asString().contains("no Retry-After header");
    }

    @Test
    void a_header_the_document_does_not_list_is_refused_but_not_one_of_http_itself() {
        String id = Fixtures.character(api, "Luna");
        var response = api.get("/v1/characters/" + id);
        byte[] body = response.raw().body();
        var sent = new java.util.ArrayList<>(response.raw().headers().map().keySet());

        assertThat(contract.check("GET", "/v1/characters/" + id, 200, response.contentType(), body, sent)).isEmpty();
        sent.addAll(java.util.List.of("X-Debug-Token", "Date", "Access-Control-Allow-Origin"));
        assertThat(contract.check("GET", "/v1/characters/" + id, 200, response.contentType(), body, sent))
                .singleElement().asString().contains("a X-Debug-Token header the document does not list");
    }

    /** .ci/run lints this copy with redocly after the suite (it must find no error). */
    @Test
    void every_operation_lists_its_client_errors_and_the_document_names_its_server() throws Exception {
        var document = api.get("/openapi.json");
        java.nio.file.Files.write(java.nio.file.Path.of("target/openapi.json"), document.raw().body());

        var json = document.json();
        assertThat(json.get("servers")).isNotEmpty();
        json.get("paths").forEach(item -> item.forEach(operation -> {
            assertThat(operation.get("responses").has("400")).as(operation.get("operationId").asText()).isTrue();
            operation.get("responses").fields().forEachRemaining(response -> {
                if (response.getKey().startsWith("4")) {
                    assertThat(response.getValue().get("content").has("application/problem+json")).isTrue();
                }
            });
        }));
    }
}
