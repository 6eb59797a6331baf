package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.json.Json;
import dev.parley.support.Fixtures;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The admin port of an instance with an admin key: metrics, the monitor's JSON and the dashboard. */
class AdminServerTest {
    private static final String KEY = "admin-key-for-the-tests-0123456789";
    private static Parley parley;
    private static Api api;
    private static Api admin;

    @BeforeAll
    static void start() {
        parley = TestServer.start("parley_admin", Map.of("PARLEY_ADMIN_KEY", KEY, "PARLEY_ADMIN_SAMPLE", "200ms"));
        api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("watched").apiKey());
        admin = new Api("http://127.0.0.1:" + parley.adminPort(), KEY);
    }

    @AfterAll
    static void stop() {
        parley.close();
    }

    @Test
    void metrics_and_the_monitor_json_want_the_admin_key_and_the_api_port_has_neither() {
        for (String path : new String[] {"/metrics", "/admin/overview", "/admin/timeline"}) {
            var anonymous = admin.withKey(null).get(path);
            assertThat(anonymous.status()).as(path).isEqualTo(401);
            assertThat(anonymous.isProblem()).isTrue();
            assertThat(admin.withKey(api.key()).get(path).status()).as(path + " with an API key").isEqualTo(401);
            assertThat(admin.get(path).status()).as(path + " with the admin key").isEqualTo(200);
            assertThat(api.get(path).status()).as(path + " on the API port").isEqualTo(404);
        }
    }

    /**
     * Jetty keeps the header lines a connection sent, matched without regard to case by default: a key with its case
     * changed, sent after the real one on the same connection, was read as the real one (an upper-cased leak, or a
     * proxy sharing its connections, would pass).
     */
    @Test
    void a_key_with_its_case_changed_is_refused_on_a_connection_that_already_sent_the_real_one() throws Exception {
        var ports = Map.of(parley.port(), new String[] {api.key(), "/v1/users/999999999"},
                parley.adminPort(), new String[] {KEY, "/admin/apps/nobody/keys"});
        for (var port : ports.entrySet()) {
            String key = port.getValue()[0];
            String path = port.getValue()[1];
            try (var raw = new dev.parley.support.RawHttp(port.getKey())) {
                assertThat(raw.send(withKey(path, key)).status()).as(path + " with the key").isEqualTo(404);
                assertThat(raw.send(withKey(path, key.toUpperCase(java.util.Locale.ROOT))).status())
                        .as(path + " with the key upper-cased, on the same connection").isEqualTo(401);
            }
        }
    }

    private static String withKey(String path, String key) {
        return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key + "\r\n\r\n";
    }

    /** As on the API port: of two Authorization lines, which one a proxy heeded cannot be told, so neither is. */
    @Test
    void two_authorization_headers_are_refused_whichever_comes_first() {
        var plain = new Api("http://127.0.0.1:" + parley.adminPort(), null);
        for (List<String> lines : List.of(List.of(KEY, "x"), List.of("x", KEY))) {
            var answer = plain.get("/metrics", "Authorization", "Bearer " + lines.get(0), "Authorization", "Bearer " + lines.get(1));
            assertThat(answer.status()).as(lines.toString()).isEqualTo(401);
            assertThat(answer.text()).as(lines.toString()).contains("send one Authorization header");
        }
    }

    @Test
    void the_dashboard_page_and_its_scripts_load_without_the_key_and_carry_no_figures() {
        var page = admin.withKey(null).get("/dashboard");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.text()).contains("/dashboard/uPlot.iife.min.js", "/dashboard/dashboard.js");
        assertThat(admin.withKey(null).get("/dashboard/uPlot.iife.min.js").text()).contains("uPlot");
        assertThat(admin.withKey(null).get("/dashboard/dashboard.js").text()).contains("/admin/overview");
    }

    @Test
    void the_overview_shows_each_route_with_its_rate_and_percentiles_the_pool_and_the_database() {
        String conversation = Fixtures.conversation(api).get("id").asText();
        for (int i = 0; i < 20; i++) {
            api.getOk("/v1/conversations/" + conversation + "/messages");
        }

        JsonNode overview = Wait.forValue("the requests in the overview", Duration.ofSeconds(10), () -> {
            JsonNode now = admin.getOk("/admin/overview?window=1m");
            return route(now, "GET /v1/conversations/{conversation_id}/messages")
                    .filter(r -> r.get("per_second").asDouble() > 0).map(r -> now);
        });

        JsonNode history = route(overview, "GET /v1/conversations/{conversation_id}/messages").orElseThrow();
        assertThat(history.get("p50_ms").asDouble()).isPositive();
        assertThat(history.get("p99_ms").asDouble()).isGreaterThanOrEqualTo(history.get("p50_ms").asDouble());
        assertThat(overview.get("requests").get("per_second").asDouble()).isPositive();
        assertThat(overview.get("statements")).isNotEmpty();
        assertThat(overview.get("pool").get("size").asInt()).isEqualTo(20);
        assertThat(overview.get("caches").findValuesAsText("cache")).contains("history");
        JsonNode database = overview.get("database");
        assertThat(database.get("size_bytes").asLong()).isPositive();
        assertThat(database.get("cache_hit_ratio").asDouble()).isBetween(0.0, 1.0);
        assertThat(database.get("tables").findValuesAsText("table")).contains("messages", "conversations");
        assertThat(database.get("connections").get("active").asInt()).isPositive();
    }

    @Test
    void the_timeline_holds_a_point_per_reading_and_answers_only_what_came_after_since() {
        JsonNode points = Wait.forValue("two points", Duration.ofSeconds(10), () -> {
            JsonNode now = admin.getOk("/admin/timeline").get("points");
            return now.size() >= 2 ? Optional.of(now) : Optional.empty();
        });
        JsonNode first = points.get(0);
        assertThat(first.has("requests_per_second") && first.has("p99_ms") && first.has("pool_active")
                && first.has("cache_hit_ratio") && first.has("database_bytes")).as(first.toString()).isTrue();

        String since = points.get(points.size() - 1).get("time").asText();
        for (JsonNode later : admin.getOk("/admin/timeline?since=" + since).get("points")) {
            assertThat(later.get("time").asText()).isGreaterThan(since);
        }
    }

    @Test
    void a_parameter_the_admin_routes_do_not_take_is_a_400_naming_it() {
        var response = admin.get("/admin/overview?windw=5m");
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.text()).contains("windw");
        for (String window : List.of("1d", "1h", "-1", "soon")) {
            var refused = admin.get("/admin/overview?window=" + window);
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.text()).as(window).contains("must be a span from 1s to 5m, such as 30s or 5m");
        }
        assertThat(admin.get("/admin/timeline?since=yesterday").status()).isEqualTo(400);
        var twice = admin.get("/admin/overview?window=1m&window=2m");
        assertThat(twice.status()).isEqualTo(400);
        assertThat(twice.text()).contains("given 2 times");
        for (String path : List.of("/metrics?name=parley_http_requests", "/admin/apps?name=default", "/admin/apps/default/keys?all=1")) {
            var filtered = admin.get(path); // a filter these routes do not have would answer everything, unfiltered
            assertThat(filtered.status()).as(path).isEqualTo(400);
            assertThat(filtered.text()).as(path).contains("is not a parameter of").contains("it takes none");
        }
    }

    /** Jetty leaves a pair it cannot decode out of the parameters: {@code window=5m%} answered the default minute. */
    @Test
    void a_malformed_escape_in_an_admin_query_is_a_400_naming_its_parameter() throws Exception {
        for (String target : List.of("/admin/overview?window=5m%", "/admin/timeline?since=%ZZ", "/admin/apps?%ZZ=1")) {
            try (var http = new RawHttp(parley.adminPort())) {
                var response = http.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
                        + "\r\nConnection: close\r\n\r\n");

                assertThat(response.status()).as(target + ": " + response).isEqualTo(400);
                assertThat(response.headers().get("content-type")).as(target).startsWith("application/problem+json");
                assertThat(Json.parse(response.body()).get("errors").get(0).get("field").asText()).as(target)
                        .isEqualTo(target.contains("%ZZ=") ? "%ZZ" : target.replaceAll(".*\\?|=.*", ""));
            }
        }
    }

    @Test
    void a_method_an_admin_path_does_not_take_is_a_405_naming_those_it_does() {
        Map<String, String> allowed = Map.of("/metrics", "GET, HEAD", "/admin/apps", "GET, HEAD, POST",
                "/admin/apps/someone", "DELETE", "/admin/apps/someone/cors", "PUT", "/dashboard", "GET, HEAD");
        allowed.forEach((path, methods) -> {
            for (String method : List.of("GET", "POST", "PUT", "DELETE", "PATCH")) {
                if (methods.contains(method)) {
                    continue;
                }
                var response = admin.sendBytes(method, path, null);
                assertThat(response.status()).as(method + " " + path).isEqualTo(405);
                assertThat(response.header("Allow")).as(method + " " + path).isEqualTo(methods);
                assertThat(response.isProblem()).as(method + " " + path).isTrue();
            }
        });
        assertThat(admin.get("/admin/nothing-here").status()).isEqualTo(404);
    }

    @Test
    void head_works_wherever_get_does_on_the_admin_port_and_sends_no_body() {
        for (String path : List.of("/metrics", "/admin/overview", "/admin/timeline", "/admin/apps", "/dashboard",
                "/dashboard/dashboard.js")) {
            var get = admin.sendBytes("GET", path, null);
            var head = admin.sendBytes("HEAD", path, null);
            assertThat(head.status()).as("HEAD " + path).isEqualTo(200);
            assertThat(head.contentType()).as("HEAD " + path).isEqualTo(get.contentType());
            assertThat(head.raw().body()).as("HEAD " + path).isEmpty();
        }
        assertThat(admin.withKey(null).sendBytes("HEAD", "/metrics", null).status()).as("HEAD wants the key as GET does")
                .isEqualTo(401);
        assertThat(admin.sendBytes("HEAD", "/", null).status()).isEqualTo(302);
        assertThat(admin.sendBytes("HEAD", "/admin/nothing-here", null).status()).isEqualTo(404);
    }

    private static Optional<JsonNode> route(JsonNode overview, String route) {
        for (JsonNode r : overview.get("routes")) {
            if (r.get("route").asText().equals(route)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
