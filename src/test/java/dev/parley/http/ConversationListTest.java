package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/conversations} lists by membership (a group chat's second and third bots find it),
 * by user, or the whole app; filters on state containment and key existence; finds a chat by the
 * app's own id for it; always by last activity, newest first, page by page.
 */
class ConversationListTest {
    private final Api api = TestServer.newApp();
    private final String luna = Fixtures.character(api, "Luna");
    private final String kai = Fixtures.character(api, "Kai");
    private final String mira = Fixtures.character(api, "Mira");
    private final String ann = Fixtures.user(api, "ann-" + System.nanoTime());
    private final String bob = Fixtures.user(api, "bob-" + System.nanoTime());

    @Test
    void every_member_of_a_group_chat_finds_it_not_only_the_one_who_leads() {
        String group = create(Map.of("user_id", ann, "character_ids", List.of(luna, kai, mira)));
        String kaiAlone = create(Map.of("user_id", bob, "character_id", kai));
        String lunaAlone = create(Map.of("user_id", bob, "character_id", luna));
        Fixtures.say(api, group, "user", "hello all"); // the group is now the latest active

        assertThat(ids("/v1/conversations?character_id=" + kai)).containsExactly(group, kaiAlone);
        assertThat(ids("/v1/conversations?character_id=" + mira)).containsExactly(group);
        assertThat(ids("/v1/conversations?character_id=" + luna)).containsExactly(group, lunaAlone);
        assertThat(ids("/v1/conversations?character_id=" + kai + "&user_id=" + bob)).containsExactly(kaiAlone);
    }

    @Test
    void without_a_character_it_lists_the_app_or_a_user_by_last_activity() {
        String first = create(Map.of("user_id", ann, "character_id", luna));
        String second = create(Map.of("user_id", bob, "character_id", kai));
        String third = create(Map.of("user_id", ann, "character_id", kai));
        Fixtures.say(api, first, "user", "back again");
        String theirs = Fixtures.conversation(TestServer.newApp()).get("id").asText();

        assertThat(ids("/v1/conversations")).containsExactly(first, third, second).doesNotContain(theirs);
        assertThat(ids("/v1/conversations?user_id=" + ann)).containsExactly(first, third);
    }

    /** A user's conversations are theirs and the groups they joined, as in their inbox, page by page. */
    @Test
    void a_users_list_has_the_groups_they_joined_too_in_order_of_activity() {
        String bobsOwn = create(Map.of("user_id", bob, "character_id", kai));
        String group = create(Map.of("user_id", ann, "character_ids", List.of(luna, kai)));
        Fixtures.join(api, group, bob);
        String bobsLatest = create(Map.of("user_id", bob, "character_id", luna));
        String annsOwn = create(Map.of("user_id", ann, "character_id", luna));
        Fixtures.say(api, group, "user", "hello all"); // the group is now the latest active

        assertThat(ids("/v1/conversations?user_id=" + bob)).containsExactly(group, bobsLatest, bobsOwn);
        assertThat(ids("/v1/conversations?user_id=" + bob + "&limit=1")).containsExactly(group);
        assertThat(ids("/v1/conversations?user_id=" + bob + "&character_id=" + kai)).containsExactly(group, bobsOwn);
        assertThat(ids("/v1/conversations?user_id=" + ann)).containsExactly(group, annsOwn);

        List<String> seen = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = api.getOk("/v1/conversations?user_id=" + bob + "&limit=1" + (cursor == null ? "" : "&cursor=" + cursor));
            page.get("conversations").forEach(c -> seen.add(c.get("id").asText()));
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);
        assertThat(seen).containsExactly(group, bobsLatest, bobsOwn);
    }

    @Test
    void pages_follow_the_cursor_through_every_conversation_once() {
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.addFirst(create(Map.of("user_id", ann, "character_id", luna)));
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = api.getOk("/v1/conversations?character_id=" + luna + "&limit=2"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            page.get("conversations").forEach(c -> seen.add(c.get("id").asText()));
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);

        assertThat(seen).isEqualTo(created);
    }

    @Test
    void state_containment_and_key_existence_filter() {
        String open = create(Map.of("user_id", ann, "character_id", luna, "state", Map.of("status", "open", "topic", "stars")));
        String closed = create(Map.of("user_id", ann, "character_id", luna, "state", Map.of("status", "closed")));
        String plain = create(Map.of("user_id", bob, "character_id", luna));
        api.patch("/v1/conversations/" + plain, Map.of("state", Map.of("status", "open")));

        assertThat(ids("/v1/conversations?state=" + encode("{\"status\":\"open\"}"))).containsExactly(plain, open);
        assertThat(ids("/v1/conversations?state_has=topic")).containsExactly(open);
        assertThat(ids("/v1/conversations?state_has=status&user_id=" + ann)).containsExactly(closed, open);
        assertThat(ids("/v1/conversations?state=" + encode("{\"status\":\"closed\"}") + "&character_id=" + luna))
                .containsExactly(closed);
    }

    @Test
    void an_external_chat_id_finds_its_conversation_and_names_one_conversation_per_app() {
        String chat = create(Map.of("user_id", ann, "character_id", luna, "external_id", "telegram:-100123"));
        create(Map.of("user_id", ann, "character_id", luna, "external_id", "telegram:-100999"));
        Api other = TestServer.newApp();
        JsonNode elsewhere = Fixtures.conversation(other);
        other.postOk(201, "/v1/conversations", Map.of("user_id", elsewhere.get("user_id").asText(),
                "character_id", elsewhere.get("character_id").asText(), "external_id", "telegram:-100123"));

        JsonNode found = api.getOk("/v1/conversations?external_id=" + encode("telegram:-100123"));
        Api.Response again = api.post("/v1/conversations", Map.of("user_id", bob, "character_id", kai,
                "external_id", "telegram:-100123"));

        assertThat(found.get("conversations")).extracting(c -> c.get("id").asText()).containsExactly(chat);
        assertThat(found.get("conversations").get(0).get("external_id").asText()).isEqualTo("telegram:-100123");
        assertThat(ids("/v1/conversations?external_id=unknown")).isEmpty();
        assertThat(again.status()).as(again.toString()).isEqualTo(409);
        assertThat(again.json().get("type").asText()).endsWith("/external-id-taken");
    }

    @Test
    void bad_filters_name_their_parameter() {
        for (String query : List.of("state=%7B", "state=%5B%5D", "state_has=", "external_id=%20", "character_id=x",
                "cursor=abc")) {
            Api.Response response = api.get("/v1/conversations?" + query);
            assertThat(response.status()).as(query + ": " + response).isEqualTo(400);
            assertThat(response.json().get("errors").get(0).get("field").asText()).as(query)
                    .isEqualTo(query.substring(0, query.indexOf('=')));
        }
    }

    private String create(Map<String, Object> body) {
        return api.postOk(201, "/v1/conversations", body).get("id").asText();
    }

    private List<String> ids(String path) {
        List<String> ids = new ArrayList<>();
        api.getOk(path).get("conversations").forEach(c -> ids.add(c.get("id").asText()));
        return ids;
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
