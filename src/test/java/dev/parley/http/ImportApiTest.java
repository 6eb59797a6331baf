package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.lifecycle.Import;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * POST /v1/import: another store's history, with its original times, imported once however often it is
 * sent, each bad line reported by number and the rest imported.
 */
class ImportApiTest {
    private final Api api = TestServer.newApp();

    private static final List<String> HISTORY = List.of(
            line(Map.of("type", "character", "external_id", "luna", "name", "Luna", "system_prompt", "You are Luna.")),
            line(Map.of("type", "user", "external_id", "tg:1", "profile", Map.of("name", "Ada"))),
            line(Map.of("type", "user", "external_id", "tg:2")),
            line(Map.of("type", "conversation", "external_id", "chat-1", "user", "tg:1", "character", "luna",
                    "title", "first", "created_at", "2025-03-01T10:00:00Z")),
            line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m1", "role", "user",
                    "content", "hello from March", "created_at", "2025-03-01T10:00:01Z")),
            line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m2", "role", "assistant",
                    "content", "hello Ada", "created_at", "2025-03-01T10:00:02Z")),
            line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m3", "role", "user",
                    "content", "back in May", "created_at", "2025-05-20T08:00:00Z")),
            line(Map.of("type", "conversation", "external_id", "chat-2", "user", "tg:2", "character", "luna",
                    "created_at", "2025-04-01T00:00:00Z")),
            line(Map.of("type", "message", "conversation", "chat-2", "external_id", "x1", "role", "user",
                    "content", "only one", "created_at", "2025-04-01T00:00:05Z")),
            line(Map.of("type", "memory", "external_id", "mem-1", "user", "tg:1", "character", "luna", "conversation", "chat-1",
                    "content", "lives in Lisbon", "importance", 0.8, "embedding", List.of(0.6, 0.8, 0.0),
                    "created_at", "2025-03-01T10:05:00Z")),
            line(Map.of("type", "memory", "external_id", "mem-2", "user", "tg:1", "character", "luna",
                    "content", "likes the sea", "embedding", "AACAPwAAAAAAAAAA"))); // base64 of float32 [1, 0, 0]

    /** Two characters, three users and tg:1's conversation with Luna: six lines. */
    private static final List<String> CAST = List.of(
            line(Map.of("type", "character", "external_id", "luna", "name", "Luna")),
            line(Map.of("type", "character", "external_id", "orion", "name", "Orion")),
            line(Map.of("type", "user", "external_id", "tg:1")),
            line(Map.of("type", "user", "external_id", "tg:2")),
            line(Map.of("type", "user", "external_id", "tg:9")),
            line(Map.of("type", "conversation", "external_id", "chat-1", "user", "tg:1", "character", "luna",
                    "created_at", "2025-03-01T10:00:00Z")));

    @Test
    void a_history_is_imported_with_its_times_order_and_months_and_a_second_run_changes_nothing() throws SQLException {
        JsonNode first = importing(HISTORY).json();
        JsonNode again = importing(HISTORY).json();

        assertThat(first.get("lines").asLong()).isEqualTo(11);
        assertThat(first.get("imported")).isEqualTo(Json.MAPPER.valueToTree(Map.of("characters", 1, "users", 2,
                "conversations", 2, "messages", 4, "memories", 2)));
        assertThat(first.get("rejected").asLong()).isZero();
        assertThat(again.get("existing")).isEqualTo(first.get("imported"));
        assertThat(again.get("imported").findValues("messages").getFirst().asLong()).isZero();

        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        JsonNode history = api.getOk("/v1/conversations/" + chat + "/messages").get("messages");
        assertThat(history.findValuesAsText("content")).containsExactly("hello from March", "hello Ada", "back in May");
        assertThat(history.findValuesAsText("created_at")).containsExactly("2025-03-01T10:00:01Z", "2025-03-01T10:00:02Z",
                "2025-05-20T08:00:00Z");
        assertThat(history.findValuesAsText("seq")).containsExactly("1", "2", "3");
        JsonNode conversation = api.getOk("/v1/conversations/" + chat);
        assertThat(conversation.get("message_count").asLong()).isEqualTo(3);
        assertThat(conversation.get("created_at").asText()).isEqualTo("2025-03-01T10:00:00Z");
        assertThat(conversation.get("last_message").get("preview").asText()).isEqualTo("back in May");
        String user = conversation.get("user_id").asText();
        assertThat(api.getOk("/v1/users/" + user + "/inbox").get("conversations").get(0).get("unread_count").asLong()).isZero();
        JsonNode recalled = api.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id",
                conversation.get("character_id").asText(), "embedding", List.of(1.0, 0.0, 0.0), "min_similarity", 0.0));
        assertThat(recalled.get("memories").get(0).get("memory").get("content").asText()).isEqualTo("likes the sea");
        assertThat(recalled.get("memories").get(0).get("memory").get("external_id").asText()).as("as the import gave it")
                .isEqualTo("mem-2");
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE);
             var rows = sql.createStatement().executeQuery("SELECT tableoid::regclass::text FROM messages WHERE conversation_id = "
                     + chat + " ORDER BY message_id")) {
            List<String> months = new ArrayList<>();
            while (rows.next()) {
                months.add(rows.getString(1));
            }
            assertThat(months).containsExactly("messages_y2025m03", "messages_y2025m03", "messages_y2025m05");
        }
    }

    /** A character line takes what POST /v1/characters takes: its suggested messages too, held to the same bounds. */
    @Test
    void a_character_line_keeps_its_suggested_messages_and_is_held_to_the_apis_bounds() {
        Api.Response report = importing(List.of(
                line(Map.of("type", "character", "external_id", "nova", "name", "Nova",
                        "suggested_messages", List.of("What is a nebula?", "Tell me a story"))),
                line(Map.of("type", "character", "external_id", "too-many", "name", "Many",
                        "suggested_messages", java.util.Collections.nCopies(21, "hi"))),
                line(Map.of("type", "character", "external_id", "not-text", "name", "Odd", "suggested_messages", List.of(1)))));

        assertThat(api.getOk("/v1/characters?external_id=nova").get("characters").get(0).get("suggested_messages").toString())
                .isEqualTo("[\"What is a nebula?\",\"Tell me a story\"]");
        assertThat(report.json().get("first_rejected").findValuesAsText("reason")).containsExactly(
                "suggested_messages has 21 entries; the limit is 20", "suggested_messages[0] must be a string");
    }

    /** An import's characters were kept under their external ids, which no route gave back: a client could not map its own. */
    @Test
    void an_imported_character_is_found_by_its_external_id_and_shows_it() {
        importing(HISTORY);
        String made = Fixtures.character(api, "Made here");

        JsonNode found = api.getOk("/v1/characters?external_id=luna").get("characters");
        JsonNode none = api.getOk("/v1/characters?external_id=nobody").get("characters");

        assertThat(found).singleElement().satisfies(luna -> {
            assertThat(luna.get("name").asText()).isEqualTo("Luna");
            assertThat(luna.get("external_id").asText()).isEqualTo("luna");
            assertThat(api.getOk("/v1/characters/" + luna.get("id").asText()).get("external_id").asText()).isEqualTo("luna");
        });
        assertThat(none).isEmpty();
        assertThat(api.getOk("/v1/characters/" + made).get("external_id").isNull()).isTrue();
        assertThat(api.get("/v1/characters?external_id=luna&limit=5").status()).isEqualTo(400);
        assertThat(api.get("/v1/characters?ids=" + made + "&external_id=luna").status()).isEqualTo(400);
    }

    @Test
    void an_interrupted_import_run_again_finishes_without_a_duplicate() {
        importing(HISTORY.subList(0, 6));
        JsonNode rest = importing(HISTORY).json();

        assertThat(rest.get("existing").get("messages").asLong()).isEqualTo(2);
        assertThat(rest.get("imported").get("messages").asLong()).isEqualTo(2);
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        assertThat(api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("seq"))
                .containsExactly("1", "2", "3");
    }

    @Test
    void messages_of_one_second_keep_the_order_of_the_file_across_chunks_and_runs() {
        List<String> lines = new ArrayList<>(HISTORY.subList(0, 4)); // Luna, two users, chat-1
        int count = Import.CHUNK + 10; // the first chunk ends among them
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sent.add((i % 2 == 0 ? "question " : "answer ") + i);
            lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "s" + i,
                    "role", i % 2 == 0 ? "user" : "assistant", "content", sent.getLast(), "created_at", "2025-04-01T10:00:05Z")));
        }

        JsonNode first = importing(lines).json();
        JsonNode again = importing(lines).json();

        assertThat(first.get("rejected").asLong()).isZero();
        assertThat(first.get("imported").get("messages").asLong()).isEqualTo(count);
        assertThat(again.get("imported").get("messages").asLong()).isZero();
        assertThat(again.get("existing").get("messages").asLong()).isEqualTo(count);
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        List<String> read = new ArrayList<>();
        for (String page = "?limit=200"; page != null; ) {
            JsonNode body = api.getOk("/v1/conversations/" + chat + "/messages" + page);
            read.addAll(0, body.get("messages").findValuesAsText("content"));
            assertThat(body.get("messages").findValuesAsText("created_at")).containsOnly("2025-04-01T10:00:05Z");
            page = body.get("has_older").asBoolean() ? "?limit=200&before=" + body.get("older_cursor").asText() : null;
        }
        assertThat(read).containsExactlyElementsOf(sent);
    }

    /**
     * Messages of one millisecond take ids one above another in the order of the file, so a message's id depends on the
     * lines before it: a rejected line, mended and imported again, took the next message's id (counted as existing, and
     * lost) and the last one was stored again. Run again, each line is found by its external id. The mended line goes
     * after the others when its id falls there (chat-1's e1) and is rejected when it would fall among them (chat-2's).
     */
    @Test
    void a_rejected_line_mended_and_imported_again_neither_loses_a_message_nor_stores_one_twice() {
        List<String> lines = new ArrayList<>(HISTORY.subList(0, 4)); // Luna, two users, chat-1
        lines.add(HISTORY.get(7)); // chat-2
        for (int i = 0; i < 8; i++) {
            for (String chat : List.of("chat-1", "chat-2")) {
                lines.add(sameTime(chat, "e" + i, i == 1 ? "msg \0 1" : "msg " + i)); // text cannot hold a NUL
            }
        }

        JsonNode first = importing(lines).json();
        lines.set(7, sameTime("chat-1", "e1", "msg 1"));
        lines.set(8, sameTime("chat-2", "e1", "msg 1"));
        JsonNode mended = importing(lines).json();

        assertThat(first.get("imported").get("messages").asLong()).isEqualTo(14);
        assertThat(first.get("first_rejected").findValuesAsText("line")).containsExactly("8", "9");
        assertThat(mended.get("existing").get("messages").asLong()).isEqualTo(14);
        assertThat(mended.get("imported").get("messages").asLong()).isEqualTo(1);
        assertThat(mended.get("first_rejected").findValuesAsText("line")).containsExactly("9");
        assertThat(mended.get("first_rejected").findValuesAsText("reason")).singleElement().asString()
                .contains("not after the newest message of its conversation");
        assertThat(contents("chat-1")).containsExactly("msg 0", "msg 2", "msg 3", "msg 4", "msg 5", "msg 6", "msg 7", "msg 1");
        assertThat(contents("chat-2")).containsExactly("msg 0", "msg 2", "msg 3", "msg 4", "msg 5", "msg 6", "msg 7");
    }

    private static String sameTime(String conversation, String externalId, String content) {
        return line(Map.of("type", "message", "conversation", conversation, "external_id", externalId, "role", "user",
                "content", content, "created_at", "2025-04-01T10:00:00Z"));
    }

    private List<String> contents(String conversation) {
        String chat = api.getOk("/v1/conversations?external_id=" + conversation).get("conversations").get(0).get("id").asText();
        return api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("content");
    }

    /** Messages imported before V40 keep no key: a run again finds them at their ids, as it did. */
    @Test
    void messages_imported_without_a_key_are_found_again_at_their_ids() throws SQLException {
        JsonNode first = importing(HISTORY).json();
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE); var statement = sql.createStatement()) {
            assertThat(statement.executeUpdate("UPDATE messages SET import_key = NULL WHERE conversation_id = " + chat))
                    .isEqualTo(3);
        }
        JsonNode again = importing(HISTORY).json();

        assertThat(again.get("existing").get("messages")).isEqualTo(first.get("imported").get("messages"));
        assertThat(api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("seq"))
                .containsExactly("1", "2", "3");
    }

    @Test
    void each_bad_line_is_reported_by_number_and_reason_and_the_good_ones_are_imported() {
        List<String> lines = new ArrayList<>(HISTORY.subList(0, 5));
        lines.add("{not json");
        lines.add(line(Map.of("type", "sticker", "external_id", "s")));
        lines.add(line(Map.of("type", "message", "conversation", "nowhere", "external_id", "n1", "role", "user",
                "content", "lost", "created_at", "2025-03-02T00:00:00Z")));
        lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "early", "role", "user",
                "content", "the same chunk is put in order", "created_at", "2025-03-01T10:00:00.500Z")));
        lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m9", "role", "narrator",
                "content", "x", "created_at", "2025-03-03T00:00:00Z")));
        lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m10", "role", "user",
                "content", "no time")));
        lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "m11", "role", "user",
                "content", "fine", "created_at", "2025-03-04T00:00:00Z")));

        JsonNode report = importing(lines).json();
        JsonNode late = importing(List.of(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "late",
                "role", "user", "content", "older than the newest", "created_at", "2025-03-02T00:00:00Z")))).json();

        assertThat(report.get("rejected").asLong()).isEqualTo(5);
        assertThat(report.get("first_rejected").findValuesAsText("line")).containsExactly("6", "7", "8", "10", "11");
        List<String> reasons = report.get("first_rejected").findValuesAsText("reason");
        assertThat(reasons.get(1)).contains("sticker");
        assertThat(reasons.get(2)).contains("nowhere");
        assertThat(reasons.get(3)).contains("role");
        assertThat(reasons.get(4)).contains("created_at");
        assertThat(report.get("imported").get("messages").asLong()).isEqualTo(3);
        assertThat(late.get("first_rejected").get(0).get("reason").asText()).contains("oldest first");
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        assertThat(api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("the same chunk is put in order", "hello from March", "fine");
    }

    @Test
    void a_message_line_whose_author_is_not_in_its_conversation_is_rejected_as_an_append_would_be() {
        List<String> lines = new ArrayList<>(CAST);
        lines.add(message("x1", "assistant", "character", "orion", "from Orion, not a member"));
        lines.add(message("x2", "user", "user", "tg:9", "from a stranger"));
        lines.add(message("x3", "user", "user", "tg:1", "the owner, named"));
        lines.add(message("x4", "assistant", "character", "luna", "Luna, named"));
        lines.add(message("x5", "user", "character", "luna", "a user's line by a character"));
        lines.add(message("x6", "assistant", "user", "tg:1", "an assistant's line by a person"));
        lines.add(line(Map.of("type", "message", "conversation", "chat-1", "external_id", "x7", "role", "system",
                "content", "nobody's", "created_at", "2025-03-01T10:00:09Z")));

        JsonNode report = importing(lines).json();

        assertThat(report.get("first_rejected").findValuesAsText("line")).containsExactly("7", "8", "11", "12");
        List<String> reasons = report.get("first_rejected").findValuesAsText("reason");
        assertThat(reasons.get(0)).contains("'orion'", "not a member");
        assertThat(reasons.get(1)).contains("'tg:9'", "not a member");
        assertThat(reasons.get(2)).contains("role 'user'");
        assertThat(reasons.get(3)).contains("role 'user'");
        assertThat(report.get("imported").get("messages").asLong()).isEqualTo(3);
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        assertThat(api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("the owner, named", "Luna, named", "nobody's");
        String stranger = userId("tg:9");
        assertThat(api.post("/v1/conversations/" + chat + "/messages", Map.of("role", "user", "content", "hi",
                "user_id", stranger)).text()).as("the API's rule").contains("not a member");
        assertThat(api.getOk("/v1/users/" + stranger + "/export").toString()).doesNotContain("from a stranger");
        assertThat(api.delete("/v1/users/" + stranger).json().get("rows").get("messages").asLong()).isZero();
        assertThat(api.getOk("/v1/search/messages?q=stranger").get("hits")).isEmpty();
    }

    @Test
    void a_guest_and_a_character_who_joined_through_the_api_write_in_a_later_import_and_the_guests_erasure_takes_theirs() {
        importing(CAST);
        String chat = api.getOk("/v1/conversations?external_id=chat-1").get("conversations").get(0).get("id").asText();
        String guest = userId("tg:2");
        JsonNode characters = api.getOk("/v1/characters").get("characters");
        String orion = characters.get(characters.findValuesAsText("name").indexOf("Orion")).get("id").asText();
        Fixtures.join(api, chat, guest);
        api.postOk(201, "/v1/conversations/" + chat + "/members", Map.of("character_id", orion));
        List<String> again = new ArrayList<>(CAST); // run again: chat-1 is found, with its members as they are now
        again.add(message("g1", "user", "user", "tg:2", "from the guest"));
        again.add(message("o1", "assistant", "character", "orion", "from Orion"));
        again.add(message("s1", "user", "user", "tg:9", "from a stranger"));

        JsonNode report = importing(again).json();
        var erased = api.delete("/v1/users/" + guest);

        assertThat(report.get("first_rejected").findValuesAsText("line")).containsExactly("9");
        assertThat(report.get("imported").get("messages").asLong()).isEqualTo(2);
        assertThat(erased.json().get("rows").get("messages").asLong()).isEqualTo(1);
        assertThat(api.getOk("/v1/conversations/" + chat + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("from Orion");
        assertThat(api.getOk("/v1/search/messages?q=guest").get("hits")).isEmpty();
    }

    @Test
    void an_import_is_ndjson_and_says_so() {
        var json = api.post("/v1/import", Map.of("type", "user", "external_id", "u"));

        assertThat(json.status()).isEqualTo(415);
        assertThat(json.text()).contains("application/x-ndjson");
    }

    private int second = 0;

    /** A message of chat-1 by the author {@code field} names, a second after the one before. */
    private String message(String externalId, String role, String field, String author, String content) {
        second++;
        return line(Map.of("type", "message", "conversation", "chat-1", "external_id", externalId, "role", role,
                field, author, "content", content, "created_at", "2025-03-01T10:00:0" + second + "Z"));
    }

    private String userId(String externalId) {
        return api.getOk("/v1/users?external_id=" + externalId).get("id").asText();
    }

    @Test
    void an_old_line_gets_its_own_month_and_none_for_the_empty_months_between() throws SQLException {
        List<String> lines = List.of(
                line(Map.of("type", "character", "external_id", "c", "name", "C")),
                line(Map.of("type", "user", "external_id", "u")),
                line(Map.of("type", "conversation", "external_id", "old", "user", "u", "character", "c",
                        "created_at", "2003-05-01T10:00:00Z")),
                line(Map.of("type", "message", "conversation", "old", "external_id", "m1", "role", "user", "user", "u",
                        "content", "hi", "created_at", "2003-05-01T10:00:01Z")));
        assertThat(importing(lines).json().get("rejected").asLong()).isZero();

        assertThat(partitionsOf("2003", "2004", "2012")).containsExactly("messages_y2003m05");

        JsonNode later = importing(List.of(line(Map.of("type", "message", "conversation", "old", "external_id", "m2",
                "role", "user", "user", "u", "content", "years later", "created_at", "2007-02-03T00:00:00Z")))).json();

        assertThat(later.get("imported").get("messages").asLong()).as("a month between gets its partition when it gets a row")
                .isEqualTo(1);
        assertThat(partitionsOf("2003", "2004", "2007", "2012")).containsExactly("messages_y2003m05", "messages_y2007m02");
    }

    /** The hot partitions of months of the {@code years}, by name. */
    private static List<String> partitionsOf(String... years) throws SQLException {
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE);
             var rows = sql.createStatement().executeQuery("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                     + " WHERE i.inhparent = 'messages'::regclass AND c.relname ~ '^messages_y(" + String.join("|", years)
                     + ")m' ORDER BY 1")) {
            List<String> names = new ArrayList<>();
            while (rows.next()) {
                names.add(rows.getString(1));
            }
            return names;
        }
    }

    private Api.Response importing(List<String> lines) {
        return api.sendBytes("POST", "/v1/import", (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/x-ndjson");
    }

    private static String line(Map<String, Object> fields) {
        return Json.write(fields);
    }
}
