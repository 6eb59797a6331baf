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
 * Read your writes through the cache: each cached read is made first (so it is cached), then every
 * write route that changes it, then the read again must show the write. And GETs carry an ETag that
 * a client can send back to be told 304 Not Modified.
 */
class CachedReadsTest {
    private final Api api = TestServer.newApp();
    private final String character = Fixtures.character(api, "Luna");
    private final String user = Fixtures.user(api, "reader-" + System.nanoTime());
    private final String conversation = Fixtures.conversation(api, user, character);
    private final String path = "/v1/conversations/" + conversation;

    /** Every read a write below may change, made now so each is cached. */
    private Map<String, JsonNode> readAll() {
        return Map.of(
                "history", api.getOk(path + "/messages"),
                "conversation", api.getOk(path),
                "inbox", api.getOk("/v1/users/" + user + "/inbox"),
                "context", api.getOk(path + "/context"),
                "character", api.getOk("/v1/characters/" + character),
                "user", api.getOk("/v1/users/" + user));
    }

    @Test
    void appends_single_and_batched_are_read_back_by_every_cached_view() {
        readAll();
        var appended = Fixtures.say(api, conversation, "user", "first words");
        var after = readAll();

        assertThat(contents(after.get("history"))).containsExactly("first words");
        assertThat(after.get("conversation").get("last_seq").asLong()).isEqualTo(1);
        assertThat(after.get("inbox").get("conversations").get(0).get("last_message").get("preview").asText()).isEqualTo("first words");
        assertThat(after.get("context").get("messages").findValuesAsText("content")).contains("first words");

        api.postOk(201, path + "/messages/batch", Map.of("messages", List.of(Map.of("content", "two"), Map.of("content", "three"))));
        var batched = readAll();
        assertThat(contents(batched.get("history"))).containsExactly("first words", "two", "three");
        assertThat(batched.get("inbox").get("conversations").get(0).get("unread_count").asLong()).isZero();
        assertThat(appended.get("seq").asLong()).isEqualTo(1);
    }

    /**
     * Readers loading the context while a message is appended: the next context the writer asks for holds its message.
     * A context's messages were read up to the newest its head knew, and a head read before the append bounded messages
     * kept after it, for every reader after until the next change. A race: without the fix a few turns in a hundred lost.
     */
    @Test
    void a_context_asked_for_after_an_append_holds_it_while_other_readers_load_the_context() throws Exception {
        String context = path + "/context?messages=5";
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        var readers = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            for (int i = 0; i < 3; i++) {
                readers.submit(() -> {
                    while (!stop.get()) {
                        api.get(context);
                    }
                    return null;
                });
            }
            List<String> missed = new java.util.ArrayList<>();
            for (int turn = 0; turn < 200; turn++) {
                String said = "turn " + turn;
                Fixtures.say(api, conversation, "user", said);
                List<String> read = api.getOk(context).get("messages").findValuesAsText("content");
                if (!said.equals(read.getLast())) {
                    missed.add(said + " (the context ended with " + read.getLast() + ")");
                }
            }
            assertThat(missed).as("turns whose context did not hold the message just appended").isEmpty();
        } finally {
            stop.set(true);
            readers.shutdown();
            assertThat(readers.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void edits_and_deletes_are_read_back() {
        String first = Fixtures.say(api, conversation, "user", "to be edited").get("id").asText();
        String second = Fixtures.say(api, conversation, "assistant", "to be deleted").get("id").asText();
        String third = Fixtures.say(api, conversation, "assistant", "to be removed").get("id").asText();
        readAll();

        api.patch(path + "/messages/" + first, Map.of("content", "edited"));
        api.delete(path + "/messages/" + second);
        assertThat(api.delete(path + "/messages/" + third + "?hard=true").status()).isEqualTo(204);

        var after = readAll();
        JsonNode messages = after.get("history").get("messages");
        assertThat(messages.get(0).get("content").asText()).isEqualTo("edited");
        assertThat(messages.get(1).get("deleted_at").isNull()).isFalse();
        assertThat(messages).hasSize(2);
        assertThat(after.get("context").get("messages").findValuesAsText("content")).containsExactly("You are Luna.", "edited");
        assertThat(after.get("inbox").get("conversations").get(0).get("last_message").get("preview").isNull()).isTrue();
    }

    @Test
    void read_markers_state_counters_and_titles_are_read_back() {
        String said = Fixtures.say(api, conversation, "assistant", "hello").get("id").asText();
        assertThat(readAll().get("inbox").get("conversations").get(0).get("unread_count").asLong()).isEqualTo(1);

        api.postOk(200, path + "/read", Map.of("message_id", said));
        api.patch(path, Map.of("state", Map.of("mood", "warm"), "title", "Evening"));
        api.postOk(200, path + "/counters", Map.of("increments", Map.of("affection", 5)));

        var after = readAll();
        assertThat(after.get("inbox").get("conversations").get(0).get("unread_count").asLong()).isZero();
        assertThat(after.get("inbox").get("conversations").get(0).get("title").asText()).isEqualTo("Evening");
        assertThat(after.get("conversation").get("state").get("mood").asText()).isEqualTo("warm");
        assertThat(after.get("conversation").get("counters").get("affection").asLong()).isEqualTo(5);
        assertThat(after.get("context").get("conversation").get("counters").get("affection").asLong()).isEqualTo(5);
    }

    /** The guest's inbox is dropped with the write, not when PostgreSQL's change notice comes: so every round. */
    @Test
    void a_durable_counter_write_is_read_back_in_a_guests_cached_inbox() {
        String guest = Fixtures.user(api, "guest-" + System.nanoTime());
        api.postOk(201, path + "/members", Map.of("user_id", guest));
        String inbox = "/v1/users/" + guest + "/inbox";
        for (int round = 1; round <= 20; round++) {
            String etag = api.get(inbox).header("ETag");

            api.postOk(200, path + "/counters?durable=true", Map.of("increments", Map.of("affection", 1)));
            var after = api.sendBytes("GET", inbox, null, "If-None-Match", etag);

            assertThat(after.status()).as("round " + round).isEqualTo(200);
            assertThat(after.json().get("conversations").get(0).get("counters").get("affection").asLong()).isEqualTo(round);
        }
    }

    @Test
    void character_and_user_changes_are_read_back_wherever_they_show() {
        readAll();

        api.patch("/v1/characters/" + character, Map.of("name", "Nova", "system_prompt", "You are Nova."));
        api.postOk(200, "/v1/users", Map.of("external_id", api.getOk("/v1/users/" + user).get("external_id").asText(),
                "profile", Map.of("plan", "gold")));

        var after = readAll();
        assertThat(after.get("character").get("name").asText()).isEqualTo("Nova");
        assertThat(after.get("context").get("character").get("name").asText()).isEqualTo("Nova");
        assertThat(after.get("context").get("messages").get(0).get("content").asText()).isEqualTo("You are Nova.");
        assertThat(after.get("inbox").get("conversations").get(0).get("character_name").asText()).isEqualTo("Nova");
        assertThat(after.get("user").get("profile").get("plan").asText()).isEqualTo("gold");
        assertThat(after.get("context").get("user").get("profile").get("plan").asText()).isEqualTo("gold");
    }

    @Test
    void a_new_conversation_shows_in_its_users_cached_inbox() {
        assertThat(readAll().get("inbox").get("conversations")).hasSize(1);

        Fixtures.conversation(api, user, Fixtures.character(api, "Sol"));

        assertThat(api.getOk("/v1/users/" + user + "/inbox").get("conversations")).hasSize(2);
    }

    @Test
    void a_client_holding_the_current_version_is_told_304_and_a_changed_one_gets_the_new_body() {
        var first = api.get("/v1/characters/" + character);
        String etag = first.header("ETag");

        var unchanged = api.sendBytes("GET", "/v1/characters/" + character, null, "If-None-Match", etag);
        api.patch("/v1/characters/" + character, Map.of("name", "Nova"));
        var changed = api.sendBytes("GET", "/v1/characters/" + character, null, "If-None-Match", etag);

        assertThat(etag).matches("\"[A-Za-z0-9_-]{22}\"");
        assertThat(first.header("Cache-Control")).isEqualTo("private");
        assertThat(unchanged.status()).isEqualTo(304);
        assertThat(unchanged.raw().body()).isEmpty();
        assertThat(changed.status()).isEqualTo(200);
        assertThat(changed.header("ETag")).isNotEqualTo(etag);
        assertThat(changed.json().get("name").asText()).isEqualTo("Nova");
        for (String cached : List.of(path, path + "/messages", "/v1/users/" + user, "/v1/users/" + user + "/inbox")) {
            var response = api.get(cached);
            assertThat(api.sendBytes("GET", cached, null, "If-None-Match", response.header("ETag")).status()).as(cached).isEqualTo(304);
        }
    }

    private static List<String> contents(JsonNode history) {
        return history.get("messages").findValuesAsText("content");
    }
}
