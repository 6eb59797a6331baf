package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Browser pages calling the API from the origins their app allows: a preflight answered for an origin
 * some app allows, without a key; an answer readable only by the origins of the key's app.
 */
class CorsTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final String run = String.valueOf(System.nanoTime());
    private final String allowed = "https://allowed-" + run + ".example";
    private final String othersOnly = "https://others-" + run + ".example";
    private final String nobodys = "https://nobody-" + run + ".example";
    private final String name = "cors-" + run;
    private Api api;
    private Api admin;

    @BeforeEach
    void twoAppsWithTheirOrigins() {
        var parley = TestServer.get();
        api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create(name).apiKey());
        String other = "cors-other-" + run;
        parley.apps().create(other);
        admin = new Api("http://127.0.0.1:" + parley.adminPort(), null); // loopback, no admin key
        assertThat(admin.put("/admin/apps/" + name + "/cors", Map.of("origins", List.of(allowed))).status()).isEqualTo(200);
        assertThat(admin.put("/admin/apps/" + other + "/cors", Map.of("origins", List.of(othersOnly))).status()).isEqualTo(200);
    }

    @Test
    void a_preflight_from_an_origin_some_app_allows_is_answered_without_a_key() throws Exception {
        for (String origin : List.of(allowed, othersOnly)) {
            HttpResponse<String> preflight = preflight("/v1/characters", origin);

            assertThat(preflight.statusCode()).as(origin).isEqualTo(204);
            assertThat(header(preflight, "Access-Control-Allow-Origin")).isEqualTo(origin);
            assertThat(header(preflight, "Access-Control-Allow-Methods")).contains("GET", "POST", "PATCH", "DELETE");
            assertThat(header(preflight, "Access-Control-Allow-Headers")).contains("Authorization", "Content-Type",
                    "Idempotency-Key", "If-Match", "If-None-Match", "X-Request-Id");
            assertThat(header(preflight, "Access-Control-Max-Age")).isEqualTo("7200");
            assertThat(preflight.headers().allValues("Vary")).contains("Origin");
            assertThat(header(preflight, "RateLimit-Limit")).as("not counted against a key").isNull();
        }
    }

    @Test
    void a_preflight_from_an_origin_no_app_allows_is_a_403_problem() throws Exception {
        HttpResponse<String> preflight = preflight("/v1/characters", nobodys);

        assertThat(preflight.statusCode()).isEqualTo(403);
        assertThat(header(preflight, "Content-Type")).startsWith("application/problem+json");
        assertThat(preflight.body()).contains("origin-not-allowed").contains("parley apps cors");
        assertThat(header(preflight, "Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void an_answer_is_readable_only_by_the_origins_the_keys_app_allows() {
        var mine = api.get("/v1/characters", "Origin", allowed);
        var others = api.get("/v1/characters", "Origin", othersOnly);
        var noOrigin = api.get("/v1/characters");

        assertThat(mine.status()).isEqualTo(200);
        assertThat(mine.header("Access-Control-Allow-Origin")).isEqualTo(allowed);
        assertThat(mine.header("Access-Control-Expose-Headers")).contains("ETag", "Retry-After", "X-Request-Id", "RateLimit-Remaining");
        assertThat(mine.raw().headers().allValues("Vary")).contains("Origin");
        assertThat(others.status()).as("answered, but not for the page to read").isEqualTo(200);
        assertThat(others.header("Access-Control-Allow-Origin")).isNull();
        assertThat(noOrigin.header("Access-Control-Allow-Origin")).isNull();
        assertThat(noOrigin.raw().headers().allValues("Vary")).doesNotContain("Origin");
    }

    @Test
    void a_refused_key_is_readable_by_a_page_some_app_allows_so_it_can_tell_why() {
        var badKey = api.withKey("pk_" + "x".repeat(43));

        var allowedPage = badKey.get("/v1/characters", "Origin", allowed);
        var unknownPage = badKey.get("/v1/characters", "Origin", nobodys);

        assertThat(allowedPage.status()).isEqualTo(401);
        assertThat(allowedPage.header("Access-Control-Allow-Origin")).isEqualTo(allowed);
        assertThat(unknownPage.status()).isEqualTo(401);
        assertThat(unknownPage.header("Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void a_preflight_is_answered_on_any_api_path_and_is_neither_a_404_nor_a_405() throws Exception {
        assertThat(preflight("/v1/no-such-route", allowed).statusCode()).isEqualTo(204);
        assertThat(preflight("/v1/characters/123/messages", allowed).statusCode()).isEqualTo(204);

        String metrics = TestServer.metrics(TestServer.get());
        assertThat(metrics).containsPattern("parley_http_responses_total\\{method=\"OPTIONS\",route=\"unmatched\",status=\"204\"}");
        assertThat(metrics).doesNotContainPattern("method=\"OPTIONS\"[^}]*status=\"40[45]\"");
    }

    @Test
    void origins_are_stored_as_browsers_send_them_and_anything_else_is_refused_naming_it() {
        var stored = admin.put("/admin/apps/" + name + "/cors",
                Map.of("origins", List.of("HTTPS://Allowed-" + run + ".Example:443/", "http://localhost:5173", allowed)));

        assertThat(stored.status()).isEqualTo(200);
        assertThat(stored.json().get("origins").toString()).isEqualTo("[\"" + allowed + "\",\"http://localhost:5173\"]");
        for (String wrong : List.of("*", "null", "https://a.example/app", "ftp://a.example", "https://user@a.example",
                "https://a.example?x=1", "a.example")) {
            var refused = admin.put("/admin/apps/" + name + "/cors", Map.of("origins", List.of(allowed, wrong)));
            assertThat(refused.status()).as(wrong).isEqualTo(400);
            assertThat(refused.json().get("errors").get(0).get("field").asText()).as(wrong).isEqualTo("origins[1]");
        }
    }

    @Test
    void an_origin_cleared_is_refused_at_once() throws Exception {
        assertThat(admin.put("/admin/apps/" + name + "/cors", Map.of("origins", List.of())).json().get("origins")).isEmpty();

        assertThat(preflight("/v1/characters", allowed).statusCode()).isEqualTo(403);
        assertThat(api.get("/v1/characters", "Origin", allowed).header("Access-Control-Allow-Origin")).isNull();
    }

    private HttpResponse<String> preflight(String path, String origin) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + TestServer.get().port() + path))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String header(HttpResponse<?> response, String name) {
        return response.headers().firstValue(name).orElse(null);
    }
}
