package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MessagesApiTest {
    private final Api api = TestServer.newApp();
    private final JsonNode conversation = Fixtures.conversation(api);
    private final String id = conversation.get("id").asText();
    private final String messages = "/v1/conversations/" + id + "/messages";

    @Test
    void append_returns_the_stored_message_with_its_sequence_number() {
        JsonNode first = Fixtures.say(api, id, "user", "hello");
        JsonNode second = Fixtures.say(api, id, "assistant", "hi!");

        assertThat(first.get("seq").asLong()).isEqualTo(1);
        assertThat(second.get("seq").asLong()).isEqualTo(2);
        assertThat(second.get("character_id").asText()).isEqualTo(conversation.get("character_id").asText());
        assertThat(first.get("user_id").asText()).isEqualTo(conversation.get("user_id").asText());
        assertThat(second.get("id").asText().compareTo(first.get("id").asText())).isPositive();
    }

    @Test
    void append_with_same_idempotency_key_returns_original_message() {
        var body = Map.of("role", "user", "content", "only once");
        var first = api.post(messages, body, "Idempotency-Key", "retry-1");
        var retry = api.post(messages, body, "Idempotency-Key", "retry-1");

        assertThat(first.status()).isEqualTo(201);
        assertThat(retry.status()).isEqualTo(200);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retry.json()).isEqualTo(first.json());
        assertThat(api.getOk(messages).get("messages")).hasSize(1);
        assertThat(api.getOk("/v1/conversations/" + id).get("message_count").asLong()).isEqualTo(1);
    }

    @Test
    void reusing_an_idempotency_key_for_different_content_is_a_conflict() {
        api.post(messages, Map.of("content", "a"), "Idempotency-Key", "k");
        var reused = api.post(messages, Map.of("content", "b"), "Idempotency-Key", "k");

        assertThat(reused.status()).isEqualTo(409);
        assertThat(reused.json().get("type").asText()).endsWith("/idempotency-key-reused");
        assertThat(api.getOk(messages).get("messages")).hasSize(1);
    }

    @Test
    void batch_appends_all_messages_in_order_in_one_transaction() {
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            batch.add(Map.of("role", i % 2 == 0 ? "user" : "assistant", "content", "m" + i));
        }
        JsonNode appended = api.postOk(201, messages + "/batch", Map.of("messages", batch));

        assertThat(appended.get("messages")).hasSize(300);
        assertThat(appended.get("messages").get(299).get("message").get("seq").asLong()).isEqualTo(300);
        JsonNode conversationNow = api.getOk("/v1/conversations/" + id);
        assertThat(conversationNow.get("last_seq").asLong()).isEqualTo(300);
        assertThat(conversationNow.get("last_message").get("preview").asText()).isEqualTo("m299");
    }

    @Test
    void a_batch_with_one_bad_message_stores_nothing() {
        var response = api.post(messages + "/batch", Map.of("messages", List.of(
                Map.of("content", "fine"),
                Map.of("content", "bad parent", "reply_to_id", "12345"))));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("messages[1].reply_to_id");
        assertThat(api.getOk(messages).get("messages")).isEmpty();
    }

    @Test
    void a_batch_of_one_names_the_message_by_its_place_and_a_single_append_names_the_field_bare() {
        Map<String, Object> badParent = Map.of("content", "bad parent", "reply_to_id", "12345");

        var batchOfOne = api.post(messages + "/batch", Map.of("messages", List.of(badParent)));
        var single = api.post(messages, badParent);

        assertThat(batchOfOne.status()).isEqualTo(400);
        assertThat(batchOfOne.json().get("errors").get(0).get("field").asText()).isEqualTo("messages[0].reply_to_id");
        assertThat(single.status()).isEqualTo(400);
        assertThat(single.json().get("errors").get(0).get("field").asText()).isEqualTo("reply_to_id");
    }

    @Test
    void a_retried_batch_with_an_idempotency_key_stores_nothing_twice() {
        var batch = Map.of("messages", List.of(Map.of("content", "one"), Map.of("content", "two")));
        var first = api.post(messages + "/batch", batch, "Idempotency-Key", "import-7");
        var retry = api.post(messages + "/batch", batch, "Idempotency-Key", "import-7");

        assertThat(first.status()).isEqualTo(201);
        assertThat(retry.status()).isEqualTo(200);
        assertThat(retry.json().get("messages").get(0).get("replayed").asBoolean()).isTrue();
        assertThat(api.getOk(messages).get("messages")).hasSize(2);
    }

    @Test
    void history_pages_backwards_and_forwards_with_cursors() {
        for (int i = 1; i <= 7; i++) {
            Fixtures.say(api, id, "user", "m" + i);
        }
        JsonNode latest = api.getOk(messages + "?limit=3");
        assertThat(contents(latest)).containsExactly("m5", "m6", "m7");
        assertThat(latest.get("has_older").asBoolean()).isTrue();
        assertThat(latest.get("has_newer").asBoolean()).isFalse();

        JsonNode older = api.getOk(messages + "?limit=3&before=" + latest.get("older_cursor").asText());
        assertThat(contents(older)).containsExactly("m2", "m3", "m4");
        JsonNode oldest = api.getOk(messages + "?limit=3&before=" + older.get("older_cursor").asText());
        assertThat(contents(oldest)).containsExactly("m1");
        assertThat(oldest.get("has_older").asBoolean()).isFalse();

        JsonNode newer = api.getOk(messages + "?limit=3&after=" + oldest.get("newer_cursor").asText());
        assertThat(contents(newer)).containsExactly("m2", "m3", "m4");
        assertThat(newer.get("has_newer").asBoolean()).isTrue();
    }

    @Test
    void polling_after_the_newest_message_returns_only_new_ones() {
        Fixtures.say(api, id, "user", "a");
        String cursor = api.getOk(messages).get("newer_cursor").asText();

        JsonNode nothingYet = api.getOk(messages + "?after=" + cursor);
        Fixtures.say(api, id, "assistant", "b");
        JsonNode fresh = api.getOk(messages + "?after=" + nothingYet.get("newer_cursor").asText());

        assertThat(nothingYet.get("messages")).isEmpty();
        assertThat(contents(fresh)).containsExactly("b");
    }

    @Test
    void an_empty_page_at_either_end_gives_the_cursor_back_to_the_messages_it_says_exist() {
        for (int i = 1; i <= 3; i++) {
            Fixtures.say(api, id, "user", "m" + i);
        }
        for (String filter : List.of("", "&role=user")) {
            JsonNode all = api.getOk(messages + "?limit=3" + filter);

            JsonNode afterNewest = api.getOk(messages + "?limit=2&after=" + all.get("newer_cursor").asText() + filter);
            assertThat(afterNewest.get("messages")).as(filter).isEmpty();
            assertThat(afterNewest.get("has_older").asBoolean()).as(filter).isTrue();
            assertThat(contents(api.getOk(messages + "?limit=2&before=" + afterNewest.get("older_cursor").asText() + filter)))
                    .as(filter).containsExactly("m2", "m3");

            JsonNode beforeOldest = api.getOk(messages + "?limit=2&before=" + all.get("older_cursor").asText() + filter);
            assertThat(beforeOldest.get("messages")).as(filter).isEmpty();
            assertThat(beforeOldest.get("has_newer").asBoolean()).as(filter).isTrue();
            JsonNode fromTheFirst = api.getOk(messages + "?limit=2&after=" + beforeOldest.get("newer_cursor").asText() + filter);
            assertThat(contents(fromTheFirst)).as(filter).containsExactly("m1", "m2");
            assertThat(fromTheFirst.get("has_older").asBoolean()).as(filter + ": nothing is older than m1").isFalse();
            JsonNode fromTheSecond = api.getOk(messages + "?limit=2&after=" + fromTheFirst.get("older_cursor").asText() + filter);
            assertThat(contents(fromTheSecond)).as(filter).containsExactly("m2", "m3");
            assertThat(fromTheSecond.get("has_older").asBoolean()).as(filter + ": m1 is older").isTrue();
        }
    }

    @Test
    void a_cursor_from_another_conversations_page_is_refused_naming_its_parameter() {
        Fixtures.say(api, id, "user", "mine");
        String other = Fixtures.conversation(api).get("id").asText();
        Fixtures.say(api, other, "user", "theirs");
        JsonNode theirs = api.getOk("/v1/conversations/" + other + "/messages");

        assertRefused(messages + "?before=" + theirs.get("older_cursor").asText(), "before");
        assertRefused(messages + "?after=" + theirs.get("newer_cursor").asText(), "after");
        assertRefused(messages + "?role=user&after=" + theirs.get("newer_cursor").asText(), "after");
    }

    @Test
    void a_cursor_that_does_not_decode_to_a_history_cursor_is_a_400() {
        String messageId = Fixtures.say(api, id, "user", "a").get("id").asText();
        // The format before cursors carried their conversation: a kind letter and the message id alone.
        String withoutConversation = Base64.getUrlEncoder().withoutPadding().encodeToString(
                ByteBuffer.allocate(9).put((byte) 'm').putLong(Long.parseLong(messageId)).array());

        for (String cursor : List.of("***", "bm90IGEgY3Vyc29y", withoutConversation)) {
            assertRefused(messages + "?before=" + cursor, "before");
            assertRefused(messages + "?after=" + cursor, "after");
        }
    }

    @Test
    void edit_marks_the_message_edited_and_updates_the_inbox_preview() {
        JsonNode message = Fixtures.say(api, id, "user", "typo");

        JsonNode edited = api.patch(messages + "/" + message.get("id").asText(),
                Map.of("content", "fixed", "metadata", Map.of("lang", "en"))).json();

        assertThat(edited.get("content").asText()).isEqualTo("fixed");
        assertThat(edited.get("edited_at").isNull()).isFalse();
        assertThat(edited.get("metadata").get("lang").asText()).isEqualTo("en");
        assertThat(api.getOk("/v1/conversations/" + id).get("last_message").get("preview").asText()).isEqualTo("fixed");
    }

    /** A preview is the first 200 characters, cut between graphemes, on every path that writes it. */
    @Test
    void a_preview_never_ends_inside_an_emoji_sequence_a_flag_or_a_letter_and_its_accent() {
        String a = "a".repeat(198);
        String b = "b".repeat(199);
        String c = "c".repeat(199);
        Fixtures.say(api, id, "user", a + "👩\u200D🎤 rocks"); // its last grapheme spans characters 199 to 201
        assertThat(preview()).as("append").isEqualTo(a);
        Fixtures.say(api, id, "user", c + "e\u0301 café"); // e and its accent: characters 200 and 201
        assertThat(preview()).isEqualTo(c);
        String last = Fixtures.say(api, id, "user", "d".repeat(198) + "e\u0301").get("id").asText(); // 200: not cut
        assertThat(preview()).isEqualTo("d".repeat(198) + "e\u0301");

        api.patch(messages + "/" + last, Map.of("content", b + "🇮🇳 flag"));
        assertThat(preview()).as("edit").isEqualTo(b);
        assertThat(api.delete(messages + "/" + last + "?hard=true").status()).isEqualTo(204);
        assertThat(preview()).as("the message before, after a hard delete").isEqualTo(c);
        api.postOk(201, messages + "/batch", Map.of("messages", List.of(Map.of("content", "x"), Map.of("content", a + "👩\u200D🎤"))));
        assertThat(preview()).as("batch").isEqualTo(a);
        assertThat(api.getOk("/v1/users/" + conversation.get("user_id").asText() + "/inbox").get("conversations").get(0)
                .get("last_message").get("preview").asText()).as("inbox").isEqualTo(a);
    }

    private String preview() {
        return api.getOk("/v1/conversations/" + id).get("last_message").get("preview").asText();
    }

    @Test
    void soft_delete_keeps_the_place_without_the_content_and_hard_delete_removes_it() throws java.sql.SQLException {
        JsonNode keep = Fixtures.say(api, id, "user", "keep");
        JsonNode soft = api.postOk(201, messages, Map.of("content", "soft: my password is hunter2",
                "metadata", Map.of("card", "4111"), "attachments", List.of(Map.of("url", "https://x.test/a.png"))));
        JsonNode hard = Fixtures.say(api, id, "user", "hard");

        JsonNode softDeleted = api.delete(messages + "/" + soft.get("id").asText()).json();
        var hardDeleted = api.delete(messages + "/" + hard.get("id").asText() + "?hard=true");

        assertThat(softDeleted.get("content").isNull()).isTrue();
        assertThat(softDeleted.get("deleted_at").isNull()).isFalse();
        assertThat(hardDeleted.status()).isEqualTo(204);
        JsonNode history = api.getOk(messages);
        assertThat(history.get("messages")).extracting(m -> m.get("id").asText())
                .containsExactly(keep.get("id").asText(), soft.get("id").asText());
        assertThat(api.get(messages + "/" + hard.get("id").asText()).status()).isEqualTo(404);
        var readPastIt = api.post("/v1/conversations/" + id + "/read", Map.of("message_id", hard.get("id").asText()));
        assertThat(readPastIt.json().get("detail").asText()).as("not told it was never in the conversation")
                .isEqualTo("message_id refers to message " + hard.get("id").asText() + ", which conversation " + id
                        + " does not hold (never written there, or hard-deleted)");
        assertThat(api.patch(messages + "/" + soft.get("id").asText(), Map.of("content", "x")).status()).isEqualTo(409);
        JsonNode stats = api.getOk("/v1/conversations/" + id + "/stats");
        assertThat(stats.get("message_count").asLong()).isEqualTo(2);
        assertThat(stats.get("last_seq").asLong()).isEqualTo(3);
        try (var sql = dev.parley.support.TestDatabase.get().connect(TestServer.DATABASE);
             var row = sql.prepareStatement("SELECT content, metadata, attachments, words FROM messages WHERE message_id = ?")) {
            row.setLong(1, soft.get("id").asLong());
            var stored = row.executeQuery();
            assertThat(stored.next()).isTrue();
            assertThat(stored.getString("content") + stored.getString("metadata") + stored.getString("attachments")
                    + stored.getString("words")).as("what a deleted message said is gone from its row, words too")
                    .doesNotContain("hunter2", "4111", "x.test");
        }
    }

    @Test
    void a_soft_delete_sent_again_answers_as_the_first_did_and_changes_nothing() {
        JsonNode said = Fixtures.say(api, id, "user", "sent to the wrong chat");
        String path = messages + "/" + said.get("id").asText();

        var first = api.delete(path);
        var again = api.delete(path); // a client's retry after the first answer was lost

        assertThat(first.status()).isEqualTo(200);
        assertThat(again.status()).as(again.text()).isEqualTo(200);
        assertThat(again.json()).isEqualTo(first.json());
        assertThat(api.getOk("/v1/conversations/" + id + "/stats").get("message_count").asLong()).isEqualTo(1);
    }

    @Test
    void a_hard_deleted_last_message_hands_the_conversation_and_inbox_to_the_one_before() {
        JsonNode before = Fixtures.say(api, id, "assistant", "the one before");
        JsonNode last = Fixtures.say(api, id, "user", "the last, then gone");
        JsonNode conversation = api.getOk("/v1/conversations/" + id);
        String user = conversation.get("user_id").asText();
        api.getOk("/v1/users/" + user + "/inbox"); // cached, so the delete must reach the cached page too

        assertThat(api.delete(messages + "/" + last.get("id").asText() + "?hard=true").status()).isEqualTo(204);

        JsonNode shown = api.getOk("/v1/conversations/" + id).get("last_message");
        assertThat(shown.get("id").asText()).isEqualTo(before.get("id").asText());
        assertThat(shown.get("role").asText()).isEqualTo("assistant");
        assertThat(shown.get("preview").asText()).isEqualTo("the one before");
        JsonNode inInbox = api.getOk("/v1/users/" + user + "/inbox").get("conversations").get(0).get("last_message");
        assertThat(inInbox.get("id").asText()).isEqualTo(before.get("id").asText());

        api.delete(messages + "/" + before.get("id").asText() + "?hard=true");
        for (JsonNode m : api.getOk(messages).get("messages")) {
            api.delete(messages + "/" + m.get("id").asText() + "?hard=true");
        }
        assertThat(api.getOk("/v1/conversations/" + id).get("last_message").isNull()).as("none left").isTrue();
    }

    @Test
    void replies_list_the_thread_under_a_message() {
        JsonNode parent = Fixtures.say(api, id, "user", "question");
        Fixtures.say(api, id, "user", "unrelated");
        String parentId = parent.get("id").asText();
        api.postOk(201, messages, Map.of("role", "assistant", "content", "answer 1", "reply_to_id", parentId));
        api.postOk(201, messages, Map.of("role", "assistant", "content", "answer 2", "reply_to_id", parentId));

        JsonNode replies = api.getOk(messages + "/" + parentId + "/replies");

        assertThat(replies.get("messages")).extracting(m -> m.get("content").asText()).containsExactly("answer 1", "answer 2");
    }

    @Test
    void a_replies_cursor_pages_only_its_own_messages_replies() {
        String parentA = Fixtures.say(api, id, "user", "question A").get("id").asText();
        String parentB = Fixtures.say(api, id, "user", "question B").get("id").asText();
        for (String parent : List.of(parentA, parentB)) {
            for (int i = 1; i <= 3; i++) {
                api.postOk(201, messages, Map.of("role", "assistant", "content", "answer " + i, "reply_to_id", parent));
            }
        }
        String other = Fixtures.conversation(api).get("id").asText();
        String otherParent = Fixtures.say(api, other, "user", "question C").get("id").asText();
        for (String content : List.of("c1", "c2")) {
            api.postOk(201, "/v1/conversations/" + other + "/messages",
                    Map.of("role", "assistant", "content", content, "reply_to_id", otherParent));
        }
        String repliesOfA = messages + "/" + parentA + "/replies";
        String cursorOfA = api.getOk(repliesOfA + "?limit=2").get("next_cursor").asText();
        String cursorOfC = api.getOk("/v1/conversations/" + other + "/messages/" + otherParent + "/replies?limit=1")
                .get("next_cursor").asText();
        String historyCursor = api.getOk(messages).get("older_cursor").asText();

        assertThat(contents(api.getOk(repliesOfA + "?cursor=" + cursorOfA))).containsExactly("answer 3");
        assertRefused(messages + "/" + parentB + "/replies?cursor=" + cursorOfA, "cursor");
        assertRefused(repliesOfA + "?cursor=" + cursorOfC, "cursor");
        assertRefused("/v1/conversations/" + other + "/messages/" + parentA + "/replies?cursor=" + cursorOfA, "cursor");
        assertRefused(repliesOfA + "?cursor=" + historyCursor, "cursor");
    }

    @Test
    void content_over_the_limit_is_refused() {
        var response = api.post(messages, Map.of("content", "x".repeat(32 * 1024 + 1)));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("content");
    }

    @Test
    void metadata_over_the_limit_is_refused() {
        var response = api.post(messages, Map.of("content", "x", "metadata", Map.of("blob", "y".repeat(16 * 1024))));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("metadata");
    }

    private void assertRefused(String path, String parameter) {
        var refused = api.get(path);
        assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
        assertThat(refused.json().get("errors").get(0).get("field").asText()).isEqualTo(parameter);
    }

    private static List<String> contents(JsonNode page) {
        List<String> contents = new ArrayList<>();
        page.get("messages").forEach(m -> contents.add(m.get("content").asText()));
        return contents;
    }
}
