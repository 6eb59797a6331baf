package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Requests dressed as something else: a method named in a header, a method nobody uses, and, on the admin port
 * without a key, a web page's request under a name of its own (DNS rebinding) or from another site.
 */
class ForgedRequestsTest {
    private static final String OVERRIDE = "X-HTTP-Method-Override";

    @Test
    void a_method_named_in_a_header_is_refused_and_changes_nothing_on_either_port() {
        Api api = TestServer.newApp();
        String user = Fixtures.user(api, "kept");

        for (String method : new String[] {"GET", "HEAD", "POST"}) {
            Api.Response refused = api.sendBytes(method, "/v1/users/" + user, null, OVERRIDE, "DELETE");
            assertThat(refused.status()).as(method).isEqualTo(400);
        }
        Api.Response problem = api.get("/v1/users/" + user, OVERRIDE, "DELETE");
        assertThat(problem.json().get("type").asText()).endsWith("/method-override-not-supported");
        assertThat(problem.json().get("errors").get(0).get("field").asText()).isEqualTo(OVERRIDE);
        assertThat(api.get("/v1/users/" + user).status()).as("not erased").isEqualTo(200);

        Api admin = admin();
        String app = "override-" + System.nanoTime();
        admin.postOk(201, "/admin/apps", Map.of("name", app));
        assertThat(admin.sendBytes("GET", "/admin/apps/" + app, null, OVERRIDE, "DELETE").status()).isEqualTo(400);
        assertThat(admin.getOk("/admin/apps").findValuesAsText("name")).as("not deleted").contains(app);
    }

    @Test
    void a_made_up_method_is_counted_as_other_not_as_a_series_of_its_own() throws Exception {
        Api api = TestServer.newApp();
        try (var raw = new RawHttp(port(api))) {
            RawHttp.Response answer = raw.send("MADEUP17 /v1/characters HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + api.key() + "\r\n\r\n");
            assertThat(answer.status()).isBetween(400, 499);
        }

        String metrics = TestServer.metrics(api);
        assertThat(metrics).doesNotContain("MADEUP17").contains("method=\"OTHER\"");
    }

    @Test
    void the_keyless_admin_port_answers_only_requests_addressed_to_an_ip_or_localhost() throws Exception {
        int port = TestServer.get().adminPort();
        try (var raw = new RawHttp(port)) {
            assertThat(raw.send(get("127.0.0.1:" + port)).status()).isEqualTo(200);
            assertThat(raw.send(get("localhost:" + port)).status()).isEqualTo(200);
            assertThat(raw.send(get("[::1]:" + port)).status()).isEqualTo(200);
            RawHttp.Response rebound = raw.send(get("rebind.attacker.test:" + port));
            assertThat(rebound.status()).isEqualTo(403);
            assertThat(rebound.body()).contains("rebind.attacker.test").doesNotContain("\"apps\"");
        }
    }

    @Test
    void the_keyless_admin_port_takes_no_change_from_another_sites_page() {
        Api admin = admin();
        String origin = admin.base(); // http://127.0.0.1:<port>, as the dashboard's own requests say
        String fromElsewhere = "csrf-" + System.nanoTime();
        String fromItself = "own-" + System.nanoTime();

        Api.Response refused = admin.post("/admin/apps", Map.of("name", fromElsewhere), "Origin", "https://evil.example");
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.json().get("detail").asText()).contains("https://evil.example");
        assertThat(admin.post("/admin/apps", Map.of("name", fromItself), "Origin", origin).status()).isEqualTo(201);
        assertThat(admin.get("/admin/apps", "Origin", "https://evil.example").status()).as("a read's answer stays unreadable "
                + "to that page: no CORS header").isEqualTo(200);

        JsonNode apps = admin.getOk("/admin/apps");
        assertThat(apps.findValuesAsText("name")).contains(fromItself).doesNotContain(fromElsewhere);
    }

    private static Api admin() {
        return new Api("http://127.0.0.1:" + TestServer.get().adminPort(), null);
    }

    private static String get(String host) {
        return "GET /admin/apps HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    }

    private static int port(Api api) {
        return java.net.URI.create(api.base()).getPort();
    }
}
