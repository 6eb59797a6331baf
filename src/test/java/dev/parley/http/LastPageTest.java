package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every list answers {@code next_cursor: null} on its last page, also when that page is exactly full: a client
 * that pages until the cursor is null makes no last request for an empty page. A page one short of the whole
 * list still has a cursor, and it reaches the rest.
 */
class LastPageTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_list_exactly_as_long_as_the_page_has_no_next_cursor_and_a_longer_one_pages_to_its_end() {
        String user = Fixtures.user(api, "ada");
        List<String> characters = new ArrayList<>();
        for (String name : List.of("Luna", "Kai", "Mira")) {
            String character = Fixtures.character(api, name);
            characters.add(character);
            String conversation = Fixtures.conversation(api, user, character);
            Fixtures.say(api, conversation, "user", "walrus sightings from " + name);
            api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", characters.getFirst(),
                    "content", "saw a walrus with " + name));
        }
        String conversation = Fixtures.conversation(api, user, characters.getFirst());
        String parent = Fixtures.say(api, conversation, "user", "who likes walruses?").get("id").asText();
        for (String reply : List.of("me", "and me", "me too")) {
            api.postOk(201, "/v1/conversations/" + conversation + "/messages",
                    Map.of("role", "assistant", "content", reply, "reply_to_id", parent));
        }

        Map<String, String> lists = Map.of(
                "/v1/characters", "characters",
                "/v1/users/" + user + "/inbox", "conversations",
                "/v1/conversations?user_id=" + user + "&character_id=" + characters.getFirst(), "conversations",
                "/v1/conversations/" + conversation + "/messages/" + parent + "/replies", "messages",
                "/v1/users/" + user + "/memories?character_id=" + characters.getFirst(), "memories",
                "/v1/search/messages?q=walrus&user_id=" + user, "hits");
        lists.forEach((path, items) -> {
            int all = api.getOk(path).get(items).size();
            assertThat(all).as(path).isBetween(2, 20);

            JsonNode whole = api.getOk(path + separator(path) + "limit=" + all);
            assertThat(whole.get(items).size()).as(path).isEqualTo(all);
            assertThat(whole.get("next_cursor").isNull()).as(path + ": exactly full, and the last page").isTrue();

            JsonNode first = api.getOk(path + separator(path) + "limit=" + (all - 1));
            assertThat(first.get("next_cursor").isNull()).as(path + ": one short of the list").isFalse();
            JsonNode rest = api.getOk(path + separator(path) + "limit=" + (all - 1) + "&cursor=" + first.get("next_cursor").asText());
            assertThat(rest.get(items).size()).as(path).isEqualTo(1);
            assertThat(rest.get("next_cursor").isNull()).as(path).isTrue();
        });
    }

    private static String separator(String path) {
        return path.contains("?") ? "&" : "?";
    }
}
