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

    @Test
    void a_user_is_found_by_id_and_by_external_id() {
        JsonNode user = api.postOk(201, "/v1/users", Map.of("external_id", "web/ü-1"));

        assertThat(api.getOk("/v1/users/" + user.get("id").asText())).isEqualTo(user);
        assertThat(api.getOk("/v1/users?external_id=web%2F%C3%BC-1")).isEqualTo(user);
        assertThat(api.get("/v1/users?external_id=nobody").status()).isEqualTo(404);
    }
}
