package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A list's cursor carries the scope it was issued for, as history's carries its conversation: ids and activity are
 * ordered across scopes, so another user's inbox cursor, or another character's memory cursor, started a page at an
 * arbitrary point and answered 200 with a wrong page (found from outside).
 */
class ListCursorScopesTest {
    private final Api api = TestServer.newApp();

    @Test
    void an_inbox_cursor_pages_only_the_inbox_it_came_from() {
        String luna = Fixtures.character(api, "Luna");
        String ada = Fixtures.user(api, "ada");
        String bo = Fixtures.user(api, "bo");
        for (String user : List.of(ada, bo)) {
            for (int i = 0; i < 3; i++) {
                Fixtures.say(api, Fixtures.conversation(api, user, luna), "user", "hello " + i);
            }
        }
        String adasCursor = api.getOk("/v1/users/" + ada + "/inbox?limit=2").get("next_cursor").asText();

        var refused = api.get("/v1/users/" + bo + "/inbox?limit=2&cursor=" + adasCursor);

        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("errors").get(0).get("field").asText()).isEqualTo("cursor");
        assertThat(refused.json().get("detail").asText()).contains("another user's inbox");
        assertThat(api.getOk("/v1/users/" + ada + "/inbox?limit=2&cursor=" + adasCursor).get("conversations")).hasSize(1);
    }

    @Test
    void a_memory_cursor_pages_only_the_user_and_character_it_came_from_in_every_order() {
        String ada = Fixtures.user(api, "ada");
        String luna = Fixtures.character(api, "Luna");
        String orion = Fixtures.character(api, "Orion");
        for (String character : List.of(luna, orion)) {
            for (int i = 0; i < 3; i++) {
                api.postOk(201, "/v1/users/" + ada + "/memories", Map.of("character_id", character, "content", "fact " + i,
                        "importance", 0.1 * (i + 1)));
            }
        }
        for (String order : List.of("newest", "importance", "recent")) {
            String list = "/v1/users/" + ada + "/memories?limit=2&order=" + order + "&character_id=";
            String lunasCursor = api.getOk(list + luna).get("next_cursor").asText();

            var refused = api.get(list + orion + "&cursor=" + lunasCursor);
            JsonNode rest = api.getOk(list + luna + "&cursor=" + lunasCursor).get("memories");

            assertThat(refused.status()).as(order).isEqualTo(400);
            assertThat(refused.json().get("detail").asText()).as(order).contains("another user's or character's memories");
            assertThat(rest).as(order).hasSize(1);
        }
    }
}
