package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsersApiTest {
    private final Api api = TestServer.newApp();

    @Test
    void upsert_creates_once_then_updates_the_profile() {
        var created = api.post("/v1/users", Map.of("external_id", "tg:42", "profile", Map.of("lang", "fr")));
        var updated = api.post("/v1/users", Map.of("external_id", "tg:42", "profile", Map.of("lang", "en")));
        var untouched = api.post("/v1/users", Map.of("external_id", "tg:42"));

        assertThat(created.status()).isEqualTo(201);
        assertThat(updated.status()).isEqualTo(200);
        assertThat(updated.json().get("id")).isEqualTo(created.json().get("id"));
        assertThat(untouched.json().get("profile").get("lang").asText()).isEqualTo("en");
    }

    /** An app calls the upsert at every login: one that changes nothing must not make the ETag its client holds stale. */
    @Test
    void an_upsert_that_changes_nothing_keeps_the_version_and_the_etag_a_client_holds() {
        api.postOk(201, "/v1/users", Map.of("external_id", "login", "profile", Map.of("lang", "fr")));
        var held = api.get("/v1/users?external_id=login");

        JsonNode bare = api.postOk(200, "/v1/users", Map.of("external_id", "login"));
        JsonNode same = api.postOk(200, "/v1/users", Map.of("external_id", "login", "profile", Map.of("lang", "fr")));
        var patched = api.sendBytes("PATCH", "/v1/users/" + bare.get("id").asText(),
                "{\"profile\":{\"name\":\"Ada\"}}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "Content-Type", "application/json", "If-Match", held.header("ETag"));
        JsonNode changed = api.postOk(200, "/v1/users", Map.of("external_id", "login", "profile", Map.of("lang", "en")));

        assertThat(bare.get("version").asLong()).isEqualTo(held.json().get("version").asLong());
        assertThat(bare.get("updated_at")).isEqualTo(held.json().get("updated_at"));
        assertThat(same.get("version")).isEqualTo(bare.get("version"));
        assertThat(patched.status()).as("the ETag of the first read still holds").isEqualTo(200);
        assertThat(changed.get("version").asLong()).isEqualTo(patched.json().get("version").asLong() + 1);
        assertThat(changed.get("profile").toString()).isEqualTo("{\"lang\":\"en\"}");
    }

    /** The upsert that changes nothing reads the stored row; one inserted by another login meanwhile is found too. */
    @Test
    void logins_racing_to_create_the_same_user_all_get_it() throws Exception {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 20; round++) {
                String external = "racing-" + round;
                var start = new java.util.concurrent.CountDownLatch(1);
                var logins = new java.util.ArrayList<java.util.concurrent.Future<Api.Response>>();
                for (int i = 0; i < 8; i++) {
                    logins.add(pool.submit(() -> {
                        start.await();
                        return api.post("/v1/users", Map.of("external_id", external));
                    }));
                }
                start.countDown();
                var ids = new java.util.HashSet<String>();
                for (var login : logins) {
                    Api.Response answer = login.get();
                    assertThat(answer.status()).as(answer.toString()).isIn(200, 201);
                    ids.add(answer.json().get("id").asText());
                }
                assertThat(ids).hasSize(1);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void a_user_is_found_by_id_and_by_external_id() {
        JsonNode user = api.postOk(201, "/v1/users", Map.of("external_id", "web/ü-1"));

        assertThat(api.getOk("/v1/users/" + user.get("id").asText())).isEqualTo(user);
        assertThat(api.getOk("/v1/users?external_id=web%2F%C3%BC-1")).isEqualTo(user);
        assertThat(api.get("/v1/users?external_id=nobody").status()).isEqualTo(404);
    }
}
