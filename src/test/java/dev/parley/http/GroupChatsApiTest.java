package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.chat.Limits;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * A group chat with several people and several bots: Ada started it with Luna, Ben and Cleo joined as
 * guests, Kai joined as a second character. Each writes under their own name, each has their own read
 * marker, and each finds the group in their own (cached) inbox.
 */
class GroupChatsApiTest {
    private final Api api = TestServer.newApp();
    private final String luna = Fixtures.character(api, "Luna");
    private final String kai = Fixtures.character(api, "Kai");
    private final String ada = Fixtures.user(api, "ada");
    private final String ben = Fixtures.user(api, "ben");
    private final String cleo = Fixtures.user(api, "cleo");
    private final String group = Fixtures.conversation(api, ada, luna);
    private final String path = "/v1/conversations/" + group;

    @Test
    void several_people_and_bots_write_in_one_group_each_under_their_own_name() {
        joinEveryone();
        String fromAda = say(null, "user", "hello all", null);
        String fromBen = say(ben, "user", "hi Ada", null);
        String fromKai = say(null, "assistant", "Kai here", kai);
        String fromCleo = say(cleo, "user", "evening", null);

        JsonNode history = api.getOk(path + "/messages").get("messages");
        JsonNode conversation = api.getOk(path);

        assertThat(history.findValuesAsText("id")).containsExactly(fromAda, fromBen, fromKai, fromCleo);
        assertThat(history.get(0).get("user_id").asText()).isEqualTo(ada);
        assertThat(history.get(1).get("user_id").asText()).isEqualTo(ben);
        assertThat(history.get(2).get("character_id").asText()).isEqualTo(kai);
        assertThat(history.get(3).get("user_id").asText()).isEqualTo(cleo);
        assertThat(conversation.get("user_ids")).extracting(JsonNode::asText).containsExactly(ada, ben, cleo);
        assertThat(conversation.get("character_ids")).extracting(JsonNode::asText).containsExactly(luna, kai);
        assertThat(conversation.get("is_group").asBoolean()).isTrue();
    }

    @Test
    void with_several_people_the_context_names_each_person_as_it_names_the_characters() {
        say(null, "user", "just the two of us", null);
        assertThat(contextMessage("just the two of us").has("name")).as("a direct chat names no one").isFalse();

        joinEveryone();
        api.patch("/v1/users/" + ben, Map.of("profile", Map.of("name", "Benjamin")));
        say(ben, "user", "hi Ada", null);
        say(null, "assistant", "Kai here", kai);
        say(cleo, "user", "evening", null);

        assertThat(contextMessage("just the two of us").get("name").asText()).isEqualTo("ada"); // no name: the app's id for her
        assertThat(contextMessage("hi Ada").get("name").asText()).isEqualTo("Benjamin");
        assertThat(contextMessage("Kai here").get("name").asText()).isEqualTo("Kai");
        assertThat(contextMessage("evening").get("name").asText()).isEqualTo("cleo");
    }

    @Test
    void names_are_written_as_chat_completion_apis_take_them_and_profiles_keep_theirs() {
        String director = Fixtures.character(api, "Director Agent");
        api.postOk(201, path + "/members", Map.of("character_id", director));
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        String longName = "Benjamin " + "x".repeat(54) + "e\u0301🐶"; // an e and its accent across the 64th character
        api.patch("/v1/users/" + ben, Map.of("profile", Map.of("name", longName)));
        api.patch("/v1/users/" + ada, Map.of("profile", Map.of("name", " Ada | the\u00A0Lovelace <3/4> ")));
        say(null, "assistant", "Action!", director);
        say(ben, "user", "rolling", null);
        say(null, "user", "cut", null);

        assertThat(contextMessage("Action!").get("name").asText()).isEqualTo("Director_Agent");
        assertThat(contextMessage("rolling").get("name").asText()).isEqualTo("Benjamin_" + "x".repeat(54));
        assertThat(contextMessage("cut").get("name").asText()).isEqualTo("Ada_the_Lovelace_3_4_");
        assertThat(api.getOk("/v1/characters/" + director).get("name").asText()).isEqualTo("Director Agent");
        assertThat(api.getOk("/v1/users/" + ben).get("profile").get("name").asText()).isEqualTo(longName);
    }

    @Test
    void members_who_left_are_still_named_for_what_they_wrote_and_a_deleted_character_by_its_id() {
        joinEveryone();
        String nova = Fixtures.character(api, "Nova");
        api.postOk(201, path + "/members", Map.of("character_id", nova));
        say(null, "user", "hello all", null);
        say(ben, "user", "hi Ada", null);
        say(cleo, "user", "evening", null);
        say(null, "assistant", "Kai here", kai);
        say(null, "assistant", "Nova here", nova);

        for (String left : List.of("users/" + ben, "users/" + cleo, "characters/" + kai)) {
            assertThat(api.delete(path + "/members/" + left).status()).isEqualTo(204);
        }
        assertThat(api.delete("/v1/characters/" + nova).status()).isEqualTo(200);

        assertThat(contextMessage("hi Ada").path("name").asText()).as("no guest now, but Ben wrote here").isEqualTo("ben");
        assertThat(contextMessage("evening").path("name").asText()).isEqualTo("cleo");
        assertThat(contextMessage("hello all").path("name").asText()).isEqualTo("ada");
        assertThat(contextMessage("Kai here").path("name").asText()).as("Kai left; the line is not Luna's").isEqualTo("Kai");
        assertThat(contextMessage("Nova here").path("name").asText()).as("Nova is gone; still not Luna").isEqualTo("character-" + nova);
    }

    @Test
    void in_a_group_the_context_answers_the_guest_it_names_with_their_profile_and_memories() {
        joinEveryone();
        api.patch("/v1/users/" + ben, Map.of("profile", Map.of("name", "Benjamin")));
        api.postOk(201, "/v1/users/" + ada + "/memories", Map.of("character_id", luna, "content", "Ada plays the cello"));
        api.postOk(201, "/v1/users/" + ben + "/memories", Map.of("character_id", luna, "content", "Ben plays the cello too",
                "conversation_id", group));
        say(ben, "user", "shall we play?", null);

        JsonNode forAda = api.getOk(path + "/context?memory_query=cello");
        JsonNode forBen = api.getOk(path + "/context?memory_query=cello&user_id=" + ben);
        JsonNode forBenPosted = api.postOk(200, path + "/context", Map.of("user_id", ben, "memory_query", "cello"));

        assertThat(forAda.get("user").get("id").asText()).isEqualTo(ada);
        assertThat(forAda.get("memories").findValuesAsText("content")).containsExactly("Ada plays the cello");
        assertThat(forBen.get("user").get("id").asText()).isEqualTo(ben);
        assertThat(forBen.get("user").get("profile").get("name").asText()).isEqualTo("Benjamin");
        assertThat(forBen.get("memories").findValuesAsText("content")).containsExactly("Ben plays the cello too");
        assertThat(forBenPosted.get("memories")).isEqualTo(forBen.get("memories"));
        assertThat(forBen.get("messages").get(2)).as("the same conversation either way").isEqualTo(forAda.get("messages").get(2));
        assertThat(field(api.get(path + "/context?user_id=" + Fixtures.user(api, "dan")))).isEqualTo("user_id");
        assertThat(field(api.post(path + "/context", Map.of("user_id", "-1")))).isEqualTo("user_id");
    }

    @Test
    void with_memories_of_everyone_the_context_carries_what_the_character_remembers_of_each_person_in_the_talk() {
        joinEveryone();
        api.patch("/v1/users/" + ben, Map.of("profile", Map.of("name", "Benjamin")));
        String dan = Fixtures.user(api, "dan");
        for (var person : Map.of(ada, "Ada plays the cello", ben, "Ben plays the cello too", cleo, "Cleo tunes her cello",
                dan, "Dan sold his cello").entrySet()) {
            api.postOk(201, "/v1/users/" + person.getKey() + "/memories", Map.of("character_id", luna, "content", person.getValue()));
        }
        api.postOk(201, "/v1/users/" + ada + "/memories", Map.of("character_id", kai, "content", "Ada told Kai about her cello"));
        say(ben, "user", "shall we play?", null);
        say(null, "assistant", "gladly", kai);
        say(cleo, "user", "one moment", null);

        JsonNode everyone = api.getOk(path + "/context?memory_query=cello&memories_of=everyone");
        JsonNode posted = api.postOk(200, path + "/context", Map.of("memory_query", "cello", "memories_of", "everyone"));
        JsonNode forBen = api.getOk(path + "/context?memory_query=cello&memories_of=everyone&user_id=" + ben + "&messages=2");

        assertThat(everyone.get("memories").findValuesAsText("content")).as("Ada answered first, then the latest to speak; not Dan")
                .containsExactly("Ada plays the cello", "Cleo tunes her cello", "Ben plays the cello too");
        assertThat(everyone.get("memories").findValuesAsText("user_id")).containsExactly(ada, cleo, ben);
        assertThat(everyone.get("messages").get(1).get("content").asText()).as("after the prompt").isEqualTo("""
                What you remember about ada:
                - Ada plays the cello
                What you remember about cleo:
                - Cleo tunes her cello
                What you remember about Benjamin:
                - Ben plays the cello too""");
        assertThat(posted.get("memories")).isEqualTo(everyone.get("memories"));
        assertThat(api.postOk(200, path + "/context", Map.of("memory_embedding", List.of(1.0, 0.0), "memories_of", "everyone"))
                .get("memories")).as("memories without embeddings: none is near a vector, and none refuses one").isEmpty();
        assertThat(forBen.get("memories").findValuesAsText("user_id")).as("Ben answered; Cleo spoke in the last two messages, Ada not")
                .containsExactly(ben, cleo);
        assertThat(api.getOk(path + "/context?memory_query=cello&memories_of=user").get("memories").findValuesAsText("user_id"))
                .containsExactly(ada);
        assertThat(field(api.get(path + "/context?memory_query=cello&memories_of=all"))).isEqualTo("memories_of");
        assertThat(field(api.get(path + "/context?memories_of=everyone"))).as("whose memories, chosen how?").isEqualTo("memories_of");
        assertThat(field(api.post(path + "/context", Map.of("memory_query", "cello", "memories_of", "both")))).isEqualTo("memories_of");
    }

    @Test
    void in_a_direct_chat_everyones_memories_are_the_users_as_before() {
        api.postOk(201, "/v1/users/" + ada + "/memories", Map.of("character_id", luna, "content", "Ada plays the cello"));
        say(null, "user", "a tune?", null);

        JsonNode context = api.getOk(path + "/context?memory_query=cello&memories_of=everyone");

        assertThat(context.get("memories").findValuesAsText("user_id")).containsExactly(ada);
        assertThat(context.get("messages").get(1).get("content").asText()).isEqualTo("What you remember about the user:\n- Ada plays the cello");
    }

    private JsonNode contextMessage(String content) {
        for (JsonNode message : api.getOk(path + "/context").get("messages")) {
            if (message.get("content").asText().equals(content)) {
                return message;
            }
        }
        throw new AssertionError("the context holds no message '" + content + "'");
    }

    @Test
    void adding_a_member_twice_answers_200_with_the_member_as_it_is() {
        JsonNode first = api.postOk(201, path + "/members", Map.of("user_id", ben));
        JsonNode again = api.postOk(200, path + "/members", Map.of("user_id", ben));
        JsonNode owner = api.postOk(200, path + "/members", Map.of("user_id", ada));

        assertThat(first.get("kind").asText()).isEqualTo("user");
        assertThat(first.get("id").asText()).isEqualTo(ben);
        assertThat(again.get("joined_at").asText()).isEqualTo(first.get("joined_at").asText());
        assertThat(owner.get("kind").asText()).isEqualTo("user");
    }

    @Test
    void unread_counts_are_per_member_and_a_members_own_messages_never_count() {
        joinEveryone();
        JsonNode bensInboxBefore = inboxEntry(ben); // cached now: every write below must drop it
        say(null, "user", "one", null);
        say(ben, "user", "two", null);
        say(null, "assistant", "three", kai);
        String last = say(cleo, "user", "four", null);

        assertThat(bensInboxBefore.get("unread_count").asLong()).isZero();
        assertThat(inboxEntry(ada).get("unread_count").asLong()).isEqualTo(3);
        assertThat(inboxEntry(ben).get("unread_count").asLong()).isEqualTo(2);
        assertThat(inboxEntry(cleo).get("unread_count").asLong()).isZero();

        JsonNode read = api.postOk(200, path + "/read", Map.of("message_id", last, "user_id", ben));
        Map<String, Long> unread = new HashMap<>();
        api.getOk(path + "/members").get("members").forEach(m ->
                unread.put(m.get("kind").asText() + ":" + m.get("id").asText(), m.get("unread_count").asLong()));

        assertThat(read.get("unread_count").asLong()).isZero();
        assertThat(inboxEntry(ben).get("unread_count").asLong()).isZero();
        assertThat(inboxEntry(ada).get("unread_count").asLong()).isEqualTo(3);
        assertThat(unread).containsEntry("user:" + ada, 3L).containsEntry("user:" + ben, 0L)
                .containsEntry("user:" + cleo, 0L).containsEntry("character:" + kai, 1L)
                .containsEntry("character:" + luna, 4L);
    }

    @Test
    void a_deleted_message_counts_as_unread_for_no_one_wherever_counts_are_read() {
        joinEveryone();
        String first = say(null, "user", "one", null);
        String retracted = say(ben, "user", "two", null);
        String removed = say(null, "assistant", "three", kai);
        say(cleo, "user", "four", null);
        api.postOk(200, path + "/read", Map.of("message_id", removed, "character_id", luna));
        assertThat(inboxEntry(ada).get("unread_count").asLong()).isEqualTo(3); // cached now: the deletes must drop it

        assertThat(api.delete(path + "/messages/" + retracted).status()).isEqualTo(200);
        assertThat(api.delete(path + "/messages/" + removed + "?hard=true").status()).isEqualTo(204);
        assertThat(api.delete(path + "/messages/" + retracted + "?hard=true").status()).as("soft, then hard").isEqualTo(204);

        assertThat(inboxEntry(ada).get("unread_count").asLong()).as("only cleo's").isEqualTo(1);
        assertThat(inboxEntry(ada).get("last_message").get("preview").asText()).as("not the last one deleted").isEqualTo("four");
        assertThat(inboxEntry(ben).get("unread_count").asLong()).isEqualTo(1);
        assertThat(inboxEntry(cleo).get("unread_count").asLong()).isZero();
        assertThat(api.getOk(path + "/stats").get("unread_count").asLong()).isEqualTo(1);
        assertThat(api.getOk("/v1/users/" + ben + "/stats").get("unread_count").asLong()).isEqualTo(1);
        Map<String, Long> unread = new HashMap<>();
        api.getOk(path + "/members").get("members").forEach(m ->
                unread.put(m.get("kind").asText() + ":" + m.get("id").asText(), m.get("unread_count").asLong()));
        assertThat(unread).containsEntry("user:" + ada, 1L).containsEntry("user:" + ben, 1L)
                .containsEntry("user:" + cleo, 0L).containsEntry("character:" + kai, 1L)
                .containsEntry("character:" + luna, 1L);
        assertThat(api.postOk(200, path + "/read", Map.of("message_id", first)).get("unread_count").asLong()).isEqualTo(1);
        String dan = Fixtures.user(api, "dan");
        api.postOk(201, path + "/members", Map.of("user_id", dan));
        assertThat(inboxEntry(dan).get("unread_count").asLong()).as("a guest who joins later: the two left").isEqualTo(2);
    }

    @Test
    void a_member_more_than_a_thousand_deletes_behind_counts_only_the_messages_left() throws SQLException {
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        List<String> ids = new ArrayList<>(); // 1,100 from Luna, seq i + 1 each
        for (int size : new int[] {Limits.MAX_BATCH, 100}) {
            List<Map<String, String>> batch = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                batch.add(Map.of("role", "assistant", "content", "line " + (ids.size() + i)));
            }
            api.postOk(201, path + "/messages/batch", Map.of("messages", batch)).get("messages")
                    .forEach(appended -> ids.add(appended.get("message").get("id").asText()));
        }
        api.postOk(200, path + "/read", Map.of("message_id", ids.get(9))); // Ada has read ten, Ben none

        for (String id : ids.subList(20, 1_070)) { // 1,050 deleted: the row lists the newest 1,000, seqs 21-70 spill
            assertThat(api.delete(path + "/messages/" + id).status()).isEqualTo(200);
        }
        assertThat(api.delete(path + "/messages/" + ids.get(20) + "?hard=true").status()).as("a spilled one, made hard")
                .isEqualTo(204);

        assertThat(inboxEntry(ben).get("unread_count").asLong()).as("the 50 left").isEqualTo(50);
        assertThat(inboxEntry(ada).get("unread_count").asLong()).isEqualTo(40);
        assertThat(api.getOk("/v1/users/" + ben + "/stats").get("unread_count").asLong()).isEqualTo(50);
        assertThat(api.getOk(path + "/stats").get("unread_count").asLong()).isEqualTo(40);
        Map<String, Long> unread = new HashMap<>();
        api.getOk(path + "/members").get("members").forEach(m ->
                unread.put(m.get("kind").asText() + ":" + m.get("id").asText(), m.get("unread_count").asLong()));
        assertThat(unread).containsEntry("user:" + ada, 40L).containsEntry("user:" + ben, 50L);
        assertThat(api.postOk(200, path + "/read", Map.of("message_id", ids.get(15), "user_id", ben)).get("unread_count")
                .asLong()).as("seqs 17-20 and 1,071-1,100").isEqualTo(34);
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE); var statement = sql.createStatement();
             ResultSet held = statement.executeQuery("""
                     SELECT cardinality(c.deleted_seqs), c.spilled_seq, (SELECT count(*) FROM conversation_deleted_seqs d
                             WHERE d.app_id = c.app_id AND d.conversation_id = c.conversation_id)
                       FROM conversations c WHERE c.conversation_id = %s""".formatted(group))) {
            assertThat(held.next()).isTrue();
            assertThat(List.of(held.getLong(1), held.getLong(2), held.getLong(3))).containsExactly(1_000L, 70L, 50L);
        }
    }

    @Test
    void a_guests_inbox_lists_the_group_among_their_own_chats_by_last_activity() {
        String own = Fixtures.conversation(api, ben, luna);
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        Fixtures.say(api, own, "user", "my own chat");
        say(null, "user", "the group moves", null);

        JsonNode entries = api.getOk("/v1/users/" + ben + "/inbox").get("conversations");
        JsonNode page = api.getOk("/v1/users/" + ben + "/inbox?limit=1");
        JsonNode next = api.getOk("/v1/users/" + ben + "/inbox?limit=1&cursor=" + page.get("next_cursor").asText());

        assertThat(entries.findValuesAsText("conversation_id")).containsExactly(group, own);
        assertThat(entries.get(0).get("guest").asBoolean()).isTrue();
        assertThat(entries.get(0).get("user_id").asText()).isEqualTo(ada);
        assertThat(entries.get(1).get("guest").asBoolean()).isFalse();
        assertThat(page.get("conversations").get(0).get("conversation_id").asText()).isEqualTo(group);
        assertThat(next.get("conversations").get(0).get("conversation_id").asText()).isEqualTo(own);
    }

    @Test
    void a_non_member_cannot_write_and_the_refusal_names_user_id() {
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        var outsider = api.post(path + "/messages", Map.of("role", "user", "content", "let me in", "user_id", cleo));
        var asBot = api.post(path + "/messages", Map.of("role", "assistant", "content", "x", "user_id", ben));
        var both = api.post(path + "/messages", Map.of("role", "user", "content", "x", "user_id", ben, "character_id", luna));
        var inBatch = api.post(path + "/messages/batch", Map.of("messages", List.of(
                Map.of("content", "fine", "user_id", ben), Map.of("content", "not fine", "user_id", cleo))));
        var unknown = api.post(path + "/members", Map.of("user_id", "999999999"));
        var neither = api.post(path + "/members", Map.of());
        var readByOutsider = api.post(path + "/read", Map.of("message_id", say(null, "user", "hi", null), "user_id", cleo));

        assertThat(field(outsider)).isEqualTo("user_id");
        assertThat(outsider.json().get("errors").get(0).get("detail").asText()).contains("not a member");
        assertThat(field(asBot)).isEqualTo("user_id");
        assertThat(field(both)).isEqualTo("user_id");
        assertThat(field(inBatch)).isEqualTo("messages[1].user_id");
        assertThat(field(unknown)).isEqualTo("user_id");
        assertThat(field(neither)).isEqualTo("user_id");
        assertThat(field(readByOutsider)).isEqualTo("user_id");
        assertThat(api.getOk(path + "/messages").get("messages").findValuesAsText("content")).containsExactly("hi");
    }

    @Test
    void a_removed_member_leaves_the_inbox_and_can_no_longer_write() {
        joinEveryone();
        say(null, "user", "before", null);
        JsonNode cachedBefore = api.getOk("/v1/users/" + cleo + "/inbox"); // cached: the removal must drop it

        var removed = api.delete(path + "/members/users/" + cleo);
        var removedKai = api.delete(path + "/members/characters/" + kai);
        var writes = api.post(path + "/messages", Map.of("role", "user", "content", "still here?", "user_id", cleo));
        var kaiSpeaks = api.post(path + "/messages", Map.of("role", "assistant", "content", "me?", "character_id", kai));

        assertThat(cachedBefore.get("conversations")).hasSize(1);
        assertThat(removed.status()).isEqualTo(204);
        assertThat(removedKai.status()).isEqualTo(204);
        assertThat(api.getOk("/v1/users/" + cleo + "/inbox").get("conversations")).isEmpty();
        assertThat(field(writes)).isEqualTo("user_id");
        assertThat(field(kaiSpeaks)).isEqualTo("character_id");
        assertThat(api.getOk(path).get("user_ids")).extracting(JsonNode::asText).containsExactly(ada, ben);
        assertThat(api.getOk(path).get("character_ids")).extracting(JsonNode::asText).containsExactly(luna);
    }

    @Test
    void concurrent_adds_to_a_group_near_its_limit_stop_at_the_limit() throws Exception {
        int room = 3;
        int adders = 8;
        List<String> cast = new ArrayList<>();
        for (int i = 0; i < Limits.MAX_GROUP_CHARACTERS - room + adders; i++) {
            cast.add(Fixtures.character(api, "bot " + i));
        }
        List<String> founding = cast.subList(0, Limits.MAX_GROUP_CHARACTERS - room);
        String crowded = "/v1/conversations/" + api.postOk(201, "/v1/conversations",
                Map.of("user_id", ada, "character_ids", founding)).get("id").asText();
        var start = new CountDownLatch(1);
        List<Future<Integer>> statuses = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(adders)) {
            for (String newcomer : cast.subList(founding.size(), cast.size())) {
                statuses.add(pool.submit(() -> {
                    start.await();
                    return api.post(crowded + "/members", Map.of("character_id", newcomer)).status();
                }));
            }
            start.countDown();
            List<Integer> answered = new ArrayList<>();
            for (var status : statuses) {
                answered.add(status.get());
            }
            assertThat(answered).filteredOn(s -> s == 201).hasSize(room);
            assertThat(answered).filteredOn(s -> s == 400).hasSize(adders - room);
        }
        assertThat(api.getOk(crowded + "/members").get("members").findValuesAsText("kind"))
                .filteredOn("character"::equals).hasSize(Limits.MAX_GROUP_CHARACTERS);
    }

    @Test
    void a_guest_who_leaves_and_rejoins_has_read_their_own_messages() {
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        long own = api.postOk(201, path + "/messages", Map.of("role", "user", "content", "back soon", "user_id", ben))
                .get("seq").asLong();
        say(null, "assistant", "see you", null);
        api.delete(path + "/members/users/" + ben);

        JsonNode rejoined = api.postOk(201, path + "/members", Map.of("user_id", ben));

        assertThat(rejoined.get("read_seq").asLong()).isEqualTo(own);
        assertThat(rejoined.get("unread_count").asLong()).as("only the bot's reply").isEqualTo(1);
    }

    @Test
    void the_founders_stay_and_a_wrong_removal_is_a_client_error() {
        var owner = api.delete(path + "/members/users/" + ada);
        var lead = api.delete(path + "/members/characters/" + luna);
        var notMember = api.delete(path + "/members/users/" + ben);
        var noConversation = api.delete("/v1/conversations/123456789/members/users/" + ben);

        assertThat(owner.status()).isEqualTo(409);
        assertThat(lead.status()).isEqualTo(409);
        assertThat(notMember.status()).isEqualTo(404);
        assertThat(noConversation.status()).isEqualTo(404);
        assertThat(owner.isProblem() && lead.isProblem() && notMember.isProblem()).isTrue();
    }

    @Test
    void inbox_rows_carry_the_characters_profile_and_the_conversations_state_and_counters() {
        String nova = api.postOk(201, "/v1/characters", Map.of("name", "Nova",
                "metadata", Map.of("avatar_url", "https://cdn.example/nova.png"))).get("id").asText();
        String chat = api.postOk(201, "/v1/conversations", Map.of("user_id", ben, "character_id", nova,
                "state", Map.of("chapter", 3), "counters", Map.of("affection", 7))).get("id").asText();
        Fixtures.say(api, chat, "assistant", "welcome back");

        JsonNode entry = inboxEntry(ben);

        assertThat(entry.get("conversation_id").asText()).isEqualTo(chat);
        assertThat(entry.get("character_name").asText()).isEqualTo("Nova");
        assertThat(entry.get("character_metadata").get("avatar_url").asText()).isEqualTo("https://cdn.example/nova.png");
        assertThat(entry.get("state").get("chapter").asInt()).isEqualTo(3);
        assertThat(entry.get("counters").get("affection").asLong()).isEqualTo(7);
        assertThat(entry.get("message_count").asLong()).isEqualTo(1);
        assertThat(entry.get("unread_count").asLong()).isEqualTo(1);
    }

    @Test
    void an_inbox_page_is_one_sql_statement() {
        joinEveryone();
        say(null, "user", "hi", null);
        Fixtures.conversation(api, ben, kai);
        String cursor = api.getOk("/v1/users/" + ben + "/inbox?limit=1").get("next_cursor").asText();

        // Past the first page: never cached.
        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> api.getOk("/v1/users/" + ben + "/inbox?limit=1&cursor=" + cursor));

        assertThat(ran).isEqualTo(Map.of("inbox.page", 1.0));
    }

    @Test
    void with_memories_of_everyone_by_embedding_each_person_is_recalled_in_one_pass() {
        joinEveryone();
        String dan = Fixtures.user(api, "dan");
        remember(ada, luna, "Ada plays the cello", 1, 0);
        remember(ada, luna, "Ada hates the rain", 0, 1);
        remember(cleo, luna, "Cleo tunes her cello", 0.9, 0.1);
        remember(dan, luna, "Dan sold his cello", 1, 0);
        remember(ben, kai, "Ben told Kai about his cello", 1, 0);
        say(ben, "user", "shall we play?", null);
        say(cleo, "user", "one moment", null);
        Map<String, Object> body = Map.of("memory_embedding", List.of(1, 0), "memories", 1, "memories_of", "everyone");
        var everyone = new JsonNode[1];
        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> everyone[0] = api.postOk(200, path + "/context", body));

        assertThat(everyone[0].get("memories").findValuesAsText("content")).as("Ada answered, then Cleo; Ben keeps none of Luna's; Dan"
                + " is not in the talk").containsExactly("Ada plays the cello", "Cleo tunes her cello");
        assertThat(everyone[0].get("memories").findValuesAsText("user_id")).containsExactly(ada, cleo);
        assertThat(ran).as("three people's scopes in one statement, the vectors of the two with memories one each, the memories in one")
                .containsEntry("memory.scope_versions", 1.0).containsEntry("memory.load_scope", 2.0).containsEntry("memory.get_many", 1.0)
                .doesNotContainKey("memory.scope_version");
        assertThat(TestServer.statementsRunBy(api, () -> api.postOk(200, path + "/context", body)).keySet())
                .as("the next context finds everyone's versions, vectors and memories held").noneMatch(query -> query.startsWith("memory."));
        remember(ben, luna, "Ben's memory has three numbers", 1, 0, 0);
        assertThat(field(api.post(path + "/context", body))).as("Ben's memories have three dimensions").isEqualTo("memory_embedding");
    }

    private void joinEveryone() {
        api.postOk(201, path + "/members", Map.of("user_id", ben));
        api.postOk(201, path + "/members", Map.of("user_id", cleo));
        api.postOk(201, path + "/members", Map.of("character_id", kai));
    }

    /** Appends as {@code user} or {@code character} (null: the defaults); returns the message id. */
    private String say(String user, String role, String content, String character) {
        Map<String, Object> body = new HashMap<>(Map.of("role", role, "content", content));
        if (user != null) {
            body.put("user_id", user);
        }
        if (character != null) {
            body.put("character_id", character);
        }
        return api.postOk(201, path + "/messages", body).get("id").asText();
    }

    private JsonNode inboxEntry(String user) {
        JsonNode entries = api.getOk("/v1/users/" + user + "/inbox").get("conversations");
        assertThat(entries).isNotEmpty();
        return entries.get(0);
    }

    private static String field(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }

    private void remember(String user, String character, String content, double... embedding) {
        api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character, "content", content, "embedding", embedding));
    }
}
