package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ConversationsApiTest {
    private final Api api = TestServer.newApp();

    @Test
    void a_group_chat_has_several_characters_and_each_speaks_under_its_name() {
        String luna = Fixtures.character(api, "Luna");
        String kai = Fixtures.character(api, "Kai");
        String user = Fixtures.user(api, "u1");
        JsonNode group = api.postOk(201, "/v1/conversations",
                Map.of("user_id", user, "character_ids", List.of(luna, kai), "title", "Trio"));
        String id = group.get("id").asText();

        api.postOk(201, "/v1/conversations/" + id + "/messages", Map.of("content", "hi both"));
        api.postOk(201, "/v1/conversations/" + id + "/messages", Map.of("role", "assistant", "content", "I'm Kai", "character_id", kai));
        var outsider = api.post("/v1/conversations/" + id + "/messages",
                Map.of("role", "assistant", "content", "x", "character_id", Fixtures.character(api, "Nope")));
        JsonNode context = api.getOk("/v1/conversations/" + id + "/context?character_id=" + luna);

        assertThat(group.get("is_group").asBoolean()).isTrue();
        assertThat(group.get("character_ids")).extracting(JsonNode::asText).containsExactly(luna, kai);
        assertThat(outsider.status()).isEqualTo(400);
        assertThat(outsider.json().get("errors").get(0).get("field").asText()).isEqualTo("character_id");
        assertThat(context.get("character").get("name").asText()).isEqualTo("Luna");
        assertThat(context.get("messages").get(2).get("name").asText()).isEqualTo("Kai");
    }

    @Test
    void patch_merges_state_as_a_json_merge_patch() {
        String id = api.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(api, "u"),
                "character_id", Fixtures.character(api, "c"),
                "state", Map.of("plot", Map.of("chapter", 1, "scene", "bar"), "mood", "calm"))).get("id").asText();

        Map<String, Object> patch = new HashMap<>();
        patch.put("plot", Map.of("chapter", 2));
        patch.put("mood", null);
        JsonNode patched = api.patch("/v1/conversations/" + id, Map.of("state", patch, "title", "Act II")).json();

        assertThat(patched.get("state").get("plot").get("chapter").asInt()).isEqualTo(2);
        assertThat(patched.get("state").get("plot").get("scene").asText()).isEqualTo("bar");
        assertThat(patched.get("state").has("mood")).isFalse();
        assertThat(patched.get("title").asText()).isEqualTo("Act II");
    }

    @Test
    void concurrent_counter_increments_are_never_lost() throws Exception {
        String id = Fixtures.conversation(api).get("id").asText();
        try (var pool = Executors.newFixedThreadPool(10)) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                done.add(pool.submit(() -> api.postOk(200, "/v1/conversations/" + id + "/counters",
                        Map.of("increments", Map.of("affection", 2, "xp", -1)))));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        JsonNode counters = api.getOk("/v1/conversations/" + id).get("counters");

        assertThat(counters.get("affection").asLong()).isEqualTo(80);
        assertThat(counters.get("xp").asLong()).isEqualTo(-40);
    }

    @Test
    void a_counter_that_would_overflow_is_refused() {
        String id = api.postOk(201, "/v1/conversations", Map.of("user_id", Fixtures.user(api, "u"),
                "character_id", Fixtures.character(api, "c"), "counters", Map.of("xp", Long.MAX_VALUE))).get("id").asText();

        var response = api.post("/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("xp", 1)));

        assertThat(response.status()).isEqualTo(400);
        assertThat(api.getOk("/v1/conversations/" + id).get("counters").get("xp").asLong()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void unread_counts_follow_the_read_marker_and_ignore_own_messages() {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        Fixtures.say(api, id, "user", "hi");
        JsonNode reply1 = Fixtures.say(api, id, "assistant", "hello");
        Fixtures.say(api, id, "assistant", "how are you?");

        assertThat(api.getOk("/v1/conversations/" + id + "/stats").get("unread_count").asLong()).isEqualTo(2);
        JsonNode read = api.postOk(200, "/v1/conversations/" + id + "/read", Map.of("message_id", reply1.get("id").asText()));
        assertThat(read.get("unread_count").asLong()).isEqualTo(1);
        JsonNode inbox = api.getOk("/v1/users/" + conversation.get("user_id").asText() + "/inbox");
        assertThat(inbox.get("conversations").get(0).get("unread_count").asLong()).isEqualTo(1);
        var backwards = api.postOk(200, "/v1/conversations/" + id + "/read", Map.of("message_id", reply1.get("id").asText()));
        assertThat(backwards.get("read_seq").asLong()).as("a marker never moves back").isEqualTo(2);
    }

    @Test
    void a_character_keeps_its_own_read_marker() {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        JsonNode first = Fixtures.say(api, id, "user", "one");
        Fixtures.say(api, id, "user", "two");

        JsonNode bot = api.postOk(200, "/v1/conversations/" + id + "/read",
                Map.of("message_id", first.get("id").asText(), "character_id", conversation.get("character_id").asText()));

        assertThat(bot.get("unread_count").asLong()).isEqualTo(1);
    }

    @Test
    void inbox_lists_conversations_by_last_activity_with_previews() {
        String user = Fixtures.user(api, "inbox-user");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(Fixtures.conversation(api, user, Fixtures.character(api, "c" + i)));
        }
        Fixtures.say(api, ids.get(1), "assistant", "latest news");
        Fixtures.say(api, ids.get(3), "user", "earlier");
        Fixtures.say(api, ids.get(1), "assistant", "even later");

        JsonNode first = api.getOk("/v1/users/" + user + "/inbox?limit=2");
        JsonNode second = api.getOk("/v1/users/" + user + "/inbox?limit=2&cursor=" + first.get("next_cursor").asText());
        JsonNode third = api.getOk("/v1/users/" + user + "/inbox?limit=2&cursor=" + second.get("next_cursor").asText());

        assertThat(first.get("conversations")).extracting(c -> c.get("conversation_id").asText())
                .containsExactly(ids.get(1), ids.get(3));
        assertThat(first.get("conversations").get(0).get("last_message").get("preview").asText()).isEqualTo("even later");
        assertThat(first.get("conversations").get(0).get("character_name").asText()).isEqualTo("c1");
        assertThat(second.get("conversations")).extracting(c -> c.get("conversation_id").asText())
                .containsExactly(ids.get(4), ids.get(2));
        assertThat(third.get("conversations")).extracting(c -> c.get("conversation_id").asText()).containsExactly(ids.get(0));
        assertThat(third.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void context_puts_the_system_prompt_first_and_skips_deleted_messages() {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        Fixtures.say(api, id, "user", "one");
        JsonNode gone = Fixtures.say(api, id, "user", "secret");
        Fixtures.say(api, id, "assistant", "two");
        api.delete("/v1/conversations/" + id + "/messages/" + gone.get("id").asText());

        JsonNode context = api.getOk("/v1/conversations/" + id + "/context?messages=20");

        assertThat(context.get("messages")).extracting(m -> m.get("role").asText() + ":" + m.get("content").asText())
                .containsExactly("system:You are Luna.", "user:one", "assistant:two");
        assertThat(context.get("messages").get(0).has("name")).isFalse();
        assertThat(context.get("user").get("id").asText()).isEqualTo(conversation.get("user_id").asText());
    }

    @Test
    void list_finds_a_users_conversations_with_a_character() {
        String character = Fixtures.character(api, "Shared");
        String alice = Fixtures.user(api, "alice");
        String bob = Fixtures.user(api, "bob");
        String aliceChat = Fixtures.conversation(api, alice, character);
        String bobChat = Fixtures.conversation(api, bob, character);

        JsonNode all = api.getOk("/v1/conversations?character_id=" + character);
        JsonNode alices = api.getOk("/v1/conversations?character_id=" + character + "&user_id=" + alice);

        assertThat(all.get("conversations")).extracting(c -> c.get("id").asText()).containsExactly(bobChat, aliceChat);
        assertThat(alices.get("conversations")).extracting(c -> c.get("id").asText()).containsExactly(aliceChat);
    }

    @Test
    void stats_count_exactly_per_conversation_and_user() {
        JsonNode conversation = Fixtures.conversation(api);
        String id = conversation.get("id").asText();
        for (int i = 0; i < 3; i++) {
            Fixtures.say(api, id, "assistant", "m" + i);
        }
        JsonNode user = api.getOk("/v1/users/" + conversation.get("user_id").asText() + "/stats");
        JsonNode estimates = api.getOk("/v1/stats");

        assertThat(user.get("conversations").asLong()).isEqualTo(1);
        assertThat(user.get("messages").asLong()).isEqualTo(3);
        assertThat(user.get("unread_count").asLong()).isEqualTo(3);
        assertThat(estimates.get("tables").fieldNames()).toIterable()
                .containsExactly("characters", "users", "conversations", "messages");
        assertThat(estimates.get("tables").get("messages").get("rows").asLong()).as("small: counted exactly").isEqualTo(3);
        assertThat(estimates.get("tables").get("messages").get("exact").asBoolean()).isTrue();
    }

    @Test
    void a_users_stats_count_the_groups_they_joined_with_their_own_read_marker() {
        String character = Fixtures.character(api, "Luna");
        String owner = Fixtures.user(api, "owner-" + System.nanoTime());
        String guest = Fixtures.user(api, "guest-" + System.nanoTime());
        String group = Fixtures.conversation(api, owner, character);
        Fixtures.say(api, group, "user", "before the guest came");
        Fixtures.join(api, group, guest);
        Fixtures.say(api, group, "assistant", "welcome");
        Fixtures.say(api, group, "assistant", "and hello");

        JsonNode stats = api.getOk("/v1/users/" + guest + "/stats");
        JsonNode inbox = api.getOk("/v1/users/" + guest + "/inbox").get("conversations");

        assertThat(stats.get("conversations").asLong()).isEqualTo(1);
        assertThat(stats.get("messages").asLong()).isEqualTo(3);
        assertThat(inbox).hasSize(1);
        assertThat(stats.get("unread_count").asLong()).as("as the inbox counts it").isEqualTo(inbox.get(0).get("unread_count").asLong())
                .isPositive();
        assertThat(api.getOk("/v1/users/" + owner + "/stats").get("unread_count").asLong())
                .as("the owner's own marker, past their own message").isEqualTo(2);
    }

    @Test
    void a_conversation_with_an_unknown_user_is_refused() {
        var response = api.post("/v1/conversations", Map.of("user_id", "999999", "character_id", Fixtures.character(api, "c")));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("user_id");
    }

    @Test
    void an_unknown_character_is_refused_under_the_field_the_request_named_it_by() {
        String user = Fixtures.user(api, "unknown-" + System.nanoTime());
        String luna = Fixtures.character(api, "Luna");

        var direct = api.post("/v1/conversations", Map.of("user_id", user, "character_id", "987654321"));
        var group = api.post("/v1/conversations", Map.of("user_id", user, "character_ids", List.of(luna, "987654321")));

        assertThat(direct.status()).as(direct.text()).isEqualTo(400);
        assertThat(direct.json().get("errors").get(0).get("field").asText()).isEqualTo("character_id");
        assertThat(group.status()).as(group.text()).isEqualTo(400);
        assertThat(group.json().get("errors").get(0).get("field").asText()).isEqualTo("character_ids[1]");
    }

    @Test
    void a_character_named_twice_in_a_group_is_refused_not_collapsed() {
        String user = Fixtures.user(api, "twice-" + System.nanoTime());
        String luna = Fixtures.character(api, "Luna");

        var response = api.post("/v1/conversations", Map.of("user_id", user, "character_ids", List.of(luna, luna)));

        assertThat(response.status()).as(response.text()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("character_ids[1]");
        assertThat(api.getOk("/v1/conversations?user_id=" + user).get("conversations")).isEmpty();
    }

    @Test
    void an_empty_list_of_characters_is_refused_naming_it() {
        String user = Fixtures.user(api, "nobody-" + System.nanoTime());

        var response = api.post("/v1/conversations", Map.of("user_id", user, "character_ids", List.of()));

        assertThat(response.status()).as(response.text()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("character_ids");
    }
}
