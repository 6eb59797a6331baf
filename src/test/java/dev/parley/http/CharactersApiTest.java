package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.TestServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CharactersApiTest {
    private final Api api = TestServer.newApp();

    @Test
    void create_then_get_returns_every_field() {
        JsonNode created = api.postOk(201, "/v1/characters", Map.of(
                "name", "Luna", "system_prompt", "You are Luna.",
                "traits", Map.of("energy", "calm", "tags", List.of("astro")),
                "metadata", Map.of("avatar", "luna.png"),
                "suggested_messages", List.of("Hi!", "How are you?")));

        JsonNode fetched = api.getOk("/v1/characters/" + created.get("id").asText());

        assertThat(fetched).isEqualTo(created);
        assertThat(fetched.get("id").isTextual()).as("ids are strings").isTrue();
        assertThat(fetched.get("traits").get("energy").asText()).isEqualTo("calm");
        assertThat(fetched.get("suggested_messages")).hasSize(2);
    }

    @Test
    void update_changes_only_the_given_fields() {
        String id = api.postOk(201, "/v1/characters", Map.of("name", "Kai", "system_prompt", "old",
                "traits", Map.of("energy", "loud"))).get("id").asText();

        JsonNode updated = api.patch("/v1/characters/" + id, Map.of("system_prompt", "new")).json();

        assertThat(updated.get("system_prompt").asText()).isEqualTo("new");
        assertThat(updated.get("name").asText()).isEqualTo("Kai");
        assertThat(updated.get("traits").get("energy").asText()).isEqualTo("loud");
    }

    @Test
    void list_filters_by_trait_containment() {
        api.postOk(201, "/v1/characters", Map.of("name", "Calm one", "traits", Map.of("energy", "calm", "age", 25)));
        api.postOk(201, "/v1/characters", Map.of("name", "Loud one", "traits", Map.of("energy", "loud")));
        api.postOk(201, "/v1/characters", Map.of("name", "Calm two", "traits", Map.of("energy", "calm")));

        JsonNode page = api.getOk("/v1/characters?traits=" + encode("{\"energy\":\"calm\"}"));

        assertThat(page.get("characters")).extracting(c -> c.get("name").asText()).containsExactly("Calm one", "Calm two");
    }

    @Test
    void list_pages_with_a_cursor_until_the_end() {
        for (int i = 0; i < 5; i++) {
            api.postOk(201, "/v1/characters", Map.of("name", "c" + i));
        }
        List<String> names = new ArrayList<>();
        String path = "/v1/characters?limit=2";
        while (path != null) {
            JsonNode page = api.getOk(path);
            page.get("characters").forEach(c -> names.add(c.get("name").asText()));
            path = page.get("next_cursor").isNull() ? null : "/v1/characters?limit=2&cursor=" + page.get("next_cursor").asText();
        }
        assertThat(names).containsExactly("c0", "c1", "c2", "c3", "c4");
    }

    @Test
    void a_missing_name_is_refused_with_the_field_named() {
        var response = api.post("/v1/characters", Map.of("system_prompt", "x"));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.isProblem()).isTrue();
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("name");
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
