package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Deleting conversations and characters, erasing a user, exporting what is held about one. Ada is the
 * user erased: she chats with Luna, has memories, wrote in Ben's group and in Cleo's group (which she
 * was later removed from). Bob, in the same app, must lose nothing.
 */
class ErasureApiTest {
    private final Api api = TestServer.newApp();
    private final String luna = Fixtures.character(api, "Luna");
    private final String kai = Fixtures.character(api, "Kai");
    private final String ada = Fixtures.user(api, "ada");
    private final String ben = Fixtures.user(api, "ben");
    private final String cleo = Fixtures.user(api, "cleo");
    private final String bob = Fixtures.user(api, "bob");

    @Test
    void erasing_a_user_leaves_nothing_of_theirs_in_any_table_and_no_cached_view_of_it() throws Exception {
        String adas = Fixtures.conversation(api, ada, luna);
        say(adas, null, "I live in Lisbon", "key-1");
        assertThat(api.getOk("/v1/search/messages?q=Lisbon").get("hits")).as("found before the erasure").hasSize(1);
        say(adas, null, "and I have a cat", "key-2");
        String adasSecond = Fixtures.conversation(api, ada, kai);
        say(adasSecond, null, "hello Kai", null);
        remember(ada, luna, adas, "lives in Lisbon");
        remember(ada, kai, null, "likes jazz");
        recall(ada, luna); // Recall now holds her vectors
        api.put("/v1/users/" + ada + "/presence", Map.of("status", "online"));

        String bensGroup = Fixtures.conversation(api, ben, luna);
        Fixtures.join(api, bensGroup, ada);
        say(bensGroup, ben, "welcome Ada", null);
        say(bensGroup, ada, "thanks Ben, from Ada", "key-3");
        String cleosGroup = Fixtures.conversation(api, cleo, luna);
        Fixtures.join(api, cleosGroup, ada);
        say(cleosGroup, ada, "Ada was here", null);
        say(cleosGroup, cleo, "bye Ada", null);
        assertThat(api.delete("/v1/conversations/" + cleosGroup + "/members/users/" + ada).status()).isEqualTo(204);

        String bobs = Fixtures.conversation(api, bob, luna);
        say(bobs, null, "Bob's own words", "key-1");
        remember(bob, luna, bobs, "Bob likes tea");

        // cached now: the erasure must drop each of these
        api.getOk("/v1/users/" + ada);
        api.getOk("/v1/conversations/" + adas + "/messages");
        api.getOk("/v1/users/" + ada + "/inbox");
        api.getOk("/v1/conversations/" + bensGroup + "/messages");
        api.getOk("/v1/users/" + ben + "/inbox");

        var erased = api.delete("/v1/users/" + ada);

        assertThat(erased.status()).as(erased.text()).isEqualTo(200);
        JsonNode rows = erased.json().get("rows");
        assertThat(erased.json().get("subject").asText()).isEqualTo("user");
        assertThat(erased.json().get("id").asText()).isEqualTo(ada);
        assertThat(rows.get("users").asLong()).isEqualTo(1);
        assertThat(rows.get("conversations").asLong()).isEqualTo(2);
        assertThat(rows.get("messages").asLong()).isEqualTo(3 + 2); // her chats' three, and one in each group
        assertThat(rows.get("memories").asLong()).isEqualTo(2);
        assertThat(rows.get("memory_scopes").asLong()).isEqualTo(2);
        assertThat(rows.get("idempotency_keys").asLong()).isEqualTo(3);

        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE)) {
            long app = appOf(sql);
            assertThat(rowsNaming(sql, app, Long.parseLong(ada))).as("rows naming Ada, by table.column").isEmpty();
            assertThat(count(sql, "SELECT count(*) FROM messages WHERE app_id = ? AND conversation_id IN (?, ?)", app,
                    adas, adasSecond)).isZero();
            assertThat(count(sql, "SELECT count(*) FROM message_idempotency_keys WHERE app_id = ? AND conversation_id IN (?, ?, ?)",
                    app, adas, adasSecond, bensGroup)).isZero();
            assertThat(count(sql, "SELECT count(*) FROM messages WHERE app_id = ? AND content LIKE '%Ada%'", app))
                    .as("Ben's welcome and Cleo's goodbye name her; her own words are gone").isEqualTo(2);
            try (var audit = sql.prepareStatement("""
                    SELECT subject, subject_id, requested_by, counts FROM erasures WHERE app_id = ? ORDER BY erasure_id DESC LIMIT 1""")) {
                audit.setLong(1, app);
                ResultSet row = audit.executeQuery();
                assertThat(row.next()).isTrue();
                assertThat(row.getString(1)).isEqualTo("user");
                assertThat(row.getLong(2)).isEqualTo(Long.parseLong(ada));
                assertThat(api.key()).startsWith(row.getString(3));
                assertThat(row.getString(3)).hasSize(10);
                assertThat(Json.parse(row.getString(4))).isEqualTo(rows);
            }
        }

        assertThat(api.getOk("/v1/search/messages?q=Lisbon").get("hits")).as("her words, in the search index").isEmpty();
        assertThat(api.getOk("/v1/search/messages?q=Lisbon&include_archived=true").get("hits")).isEmpty();
        assertThat(api.getOk("/v1/search/memories?q=Lisbon&user_id=" + bob).get("hits")).isEmpty();
        assertThat(api.get("/v1/users/" + ada).status()).isEqualTo(404);
        assertThat(api.get("/v1/users/" + ada + "/inbox").status()).isEqualTo(404);
        assertThat(api.get("/v1/users/" + ada + "/presence").status()).isEqualTo(404);
        assertThat(api.get("/v1/conversations/" + adas + "/messages").status()).isEqualTo(404);
        assertThat(api.post("/v1/users/" + ada + "/memories/recall", Map.of("character_id", luna,
                "embedding", List.of(1.0, 0.0, 0.0))).status()).isEqualTo(404);
        JsonNode bensHistory = api.getOk("/v1/conversations/" + bensGroup + "/messages").get("messages");
        assertThat(bensHistory.findValuesAsText("content")).containsExactly("welcome Ada");
        assertThat(api.getOk("/v1/conversations/" + bensGroup).get("message_count").asLong()).isEqualTo(1);
        assertThat(texts(api.getOk("/v1/conversations/" + bensGroup).get("user_ids"))).containsExactly(ben);
        assertThat(api.getOk("/v1/conversations/" + cleosGroup + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("bye Ada");

        assertThat(api.getOk("/v1/conversations/" + bobs + "/messages").get("messages").findValuesAsText("content"))
                .containsExactly("Bob's own words");
        assertThat(api.getOk("/v1/users/" + bob + "/memories?character_id=" + luna).get("memories")).hasSize(1);
        assertThat(api.delete("/v1/users/" + ada).status()).as("erased already").isEqualTo(404);
    }

    @Test
    void erasing_a_guest_whose_message_was_a_groups_last_hands_last_message_to_the_newest_one_left_and_uncounts_it() {
        String bensGroup = Fixtures.conversation(api, ben, luna);
        Fixtures.join(api, bensGroup, ada);
        String ownerHi = api.postOk(201, "/v1/conversations/" + bensGroup + "/messages",
                Map.of("role", "user", "user_id", ben, "content", "owner hi")).get("id").asText();
        say(bensGroup, ada, "the newest word, Ada's", null);
        // cached now: the erasure must drop both
        assertThat(api.getOk("/v1/conversations/" + bensGroup).get("last_message").get("preview").asText())
                .isEqualTo("the newest word, Ada's");
        assertThat(api.getOk("/v1/users/" + ben + "/inbox").get("conversations").get(0).get("unread_count").asLong()).isEqualTo(1);

        assertThat(api.delete("/v1/users/" + ada).status()).isEqualTo(200);

        JsonNode last = api.getOk("/v1/conversations/" + bensGroup).get("last_message");
        assertThat(last.get("id").asText()).isEqualTo(ownerHi);
        assertThat(last.get("role").asText()).isEqualTo("user");
        assertThat(last.get("preview").asText()).isEqualTo("owner hi");
        JsonNode inboxEntry = api.getOk("/v1/users/" + ben + "/inbox").get("conversations").get(0);
        assertThat(inboxEntry.get("conversation_id").asText()).isEqualTo(bensGroup);
        assertThat(inboxEntry.get("last_message")).isEqualTo(last);
        assertThat(inboxEntry.get("unread_count").asLong()).as("Ada's words are no one's to read").isZero();
    }

    @Test
    void deleting_a_conversation_keeps_its_memories_unlinked_unless_told_to_delete_them() {
        String first = Fixtures.conversation(api, ada, luna);
        say(first, null, "one", "k");
        say(first, null, "two", null);
        String kept = remember(ada, luna, first, "from the first chat");
        String second = Fixtures.conversation(api, ada, luna);
        say(second, null, "three", null);
        String doomed = remember(ada, luna, second, "from the second chat");
        recall(ada, luna);
        api.getOk("/v1/conversations/" + first + "/messages"); // cached
        assertThat(api.getOk("/v1/users/" + ada + "/inbox").get("conversations")).hasSize(2);

        var deleted = api.delete("/v1/conversations/" + first);
        var refused = api.delete("/v1/conversations/" + second + "?memories=forget");
        var deletedWithMemories = api.delete("/v1/conversations/" + second + "?memories=delete");

        assertThat(deleted.status()).as(deleted.text()).isEqualTo(200);
        JsonNode rows = deleted.json().get("rows");
        assertThat(rows.get("conversations").asLong()).isEqualTo(1);
        assertThat(rows.get("messages").asLong()).isEqualTo(2);
        assertThat(rows.get("idempotency_keys").asLong()).isEqualTo(1);
        assertThat(rows.get("memories_unlinked").asLong()).isEqualTo(1);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.text()).contains("memories");
        assertThat(deletedWithMemories.json().get("rows").get("memories").asLong()).isEqualTo(1);

        assertThat(api.get("/v1/conversations/" + first).status()).isEqualTo(404);
        assertThat(api.get("/v1/conversations/" + first + "/messages").status()).isEqualTo(404);
        assertThat(api.getOk("/v1/memories/" + kept).get("conversation_id").isNull()).isTrue();
        assertThat(api.get("/v1/memories/" + doomed).status()).isEqualTo(404);
        assertThat(api.getOk("/v1/users/" + ada + "/inbox").get("conversations")).isEmpty();
        JsonNode recalled = recall(ada, luna).get("memories");
        assertThat(recalled.findValuesAsText("content")).containsExactly("from the first chat");
        assertThat(recalled.get(0).get("memory").get("conversation_id").isNull()).isTrue();
        assertThat(api.delete("/v1/conversations/" + first).status()).isEqualTo(404);
    }

    @Test
    void what_a_guest_remembers_of_a_group_is_unlinked_when_its_owner_is_erased_and_goes_with_it_when_told() {
        String bensGroup = Fixtures.conversation(api, ben, luna);
        String cleosGroup = Fixtures.conversation(api, cleo, luna);
        Fixtures.join(api, bensGroup, ada);
        Fixtures.join(api, cleosGroup, ada);
        String kept = remember(ada, luna, bensGroup, "met Ben in his group");
        String doomed = remember(ada, luna, cleosGroup, "met Cleo in hers");
        recall(ada, luna); // Recall now holds both with their conversations

        var erased = api.delete("/v1/users/" + ben);
        var deleted = api.delete("/v1/conversations/" + cleosGroup + "?memories=delete");

        assertThat(erased.json().get("rows").get("memories_unlinked").asLong()).as(erased.text()).isEqualTo(1);
        assertThat(deleted.json().get("rows").get("memories").asLong()).as(deleted.text()).isEqualTo(1);
        assertThat(api.getOk("/v1/memories/" + kept).get("conversation_id").isNull()).isTrue();
        assertThat(api.get("/v1/memories/" + doomed).status()).isEqualTo(404);
        JsonNode recalled = recall(ada, luna).get("memories");
        assertThat(recalled.findValuesAsText("content")).containsExactly("met Ben in his group");
        assertThat(recalled.get(0).get("memory").get("conversation_id").isNull()).isTrue();
    }

    @Test
    void deleting_a_character_takes_its_conversations_and_memories_and_leaves_its_words_in_others_groups() {
        String adaWithKai = Fixtures.conversation(api, ada, kai);
        say(adaWithKai, null, "hi Kai", null);
        String bobWithKai = Fixtures.conversation(api, bob, kai);
        say(bobWithKai, null, "hey Kai", null);
        remember(ada, kai, adaWithKai, "Ada told Kai a secret");
        remember(ada, luna, null, "Ada told Luna something else");
        String lunasFromKaisChat = remember(ada, luna, adaWithKai, "Luna heard it in Kai's chat");
        String lunasGroup = Fixtures.conversation(api, ben, luna);
        api.postOk(201, "/v1/conversations/" + lunasGroup + "/members", Map.of("character_id", kai));
        api.postOk(201, "/v1/conversations/" + lunasGroup + "/messages",
                Map.of("role", "assistant", "content", "Kai says hello", "character_id", kai));
        api.getOk("/v1/characters/" + kai); // cached

        var deleted = api.delete("/v1/characters/" + kai);

        assertThat(deleted.status()).as(deleted.text()).isEqualTo(200);
        JsonNode rows = deleted.json().get("rows");
        assertThat(rows.get("characters").asLong()).isEqualTo(1);
        assertThat(rows.get("conversations").asLong()).isEqualTo(2);
        assertThat(rows.get("messages").asLong()).isEqualTo(2);
        assertThat(rows.get("memories").asLong()).isEqualTo(1);
        assertThat(rows.get("memories_unlinked").asLong()).as("Luna's memory from Kai's chat stays hers").isEqualTo(1);
        assertThat(api.getOk("/v1/memories/" + lunasFromKaisChat).get("conversation_id").isNull()).isTrue();
        assertThat(api.get("/v1/characters/" + kai).status()).isEqualTo(404);
        assertThat(api.get("/v1/conversations/" + adaWithKai).status()).isEqualTo(404);
        assertThat(api.get("/v1/conversations/" + bobWithKai).status()).isEqualTo(404);
        assertThat(api.getOk("/v1/users/" + ada + "/memories?character_id=" + luna).get("memories")).hasSize(2);
        JsonNode group = api.getOk("/v1/conversations/" + lunasGroup);
        assertThat(texts(group.get("character_ids"))).containsExactly(luna);
        JsonNode history = api.getOk("/v1/conversations/" + lunasGroup + "/messages").get("messages");
        assertThat(history.get(0).get("content").asText()).isEqualTo("Kai says hello");
        assertThat(history.get(0).get("character_id").asText()).isEqualTo(kai);
        var withDeleted = api.post("/v1/conversations", Map.of("user_id", ada, "character_id", kai));
        assertThat(withDeleted.status()).isEqualTo(400);
    }

    @Test
    void appends_racing_a_conversation_delete_get_201_or_404_and_leave_no_message_behind() throws Exception {
        String chat = Fixtures.conversation(api, ada, luna);
        Map<Integer, Integer> statuses = new ConcurrentHashMap<>();
        var start = new CountDownLatch(1);
        var writers = Executors.newFixedThreadPool(8);
        for (int w = 0; w < 8; w++) {
            writers.submit(() -> {
                start.await();
                for (int i = 0; i < 100; i++) {
                    int status = api.post("/v1/conversations/" + chat + "/messages", Map.of("role", "user", "content", "m" + i)).status();
                    statuses.merge(status, 1, Integer::sum);
                }
                return null;
            });
        }
        start.countDown();
        Thread.sleep(150);
        var deleted = api.delete("/v1/conversations/" + chat);
        writers.shutdown();
        assertThat(writers.awaitTermination(60, TimeUnit.SECONDS)).isTrue();

        assertThat(deleted.status()).isEqualTo(200);
        assertThat(statuses.keySet()).as(statuses.toString()).containsOnly(201, 404);
        assertThat(statuses.get(404)).isPositive();
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE)) {
            assertThat(count(sql, "SELECT count(*) FROM messages WHERE app_id = ? AND conversation_id = ?", appOf(sql), chat))
                    .isZero();
        }
    }

    @Test
    void an_export_shows_counter_increments_not_yet_written_as_a_get_does() {
        String chat = Fixtures.conversation(api, ada, luna);
        api.postOk(200, "/v1/conversations/" + chat + "/counters", Map.of("increments", Map.of("affection", 7)));
        api.postOk(200, "/v1/users/" + ada + "/counters", Map.of("increments", Map.of("xp", 3)));

        JsonNode export = api.getOk("/v1/users/" + ada + "/export");

        assertThat(api.getOk("/v1/conversations/" + chat).get("counters").get("affection").asLong()).isEqualTo(7);
        assertThat(export.get("conversations").get(0).get("conversation").get("counters").get("affection").asLong()).isEqualTo(7);
        assertThat(export.get("user").get("counters").get("xp").asLong()).isEqualTo(3);
    }

    @Test
    void an_export_holds_the_user_their_chats_every_message_their_group_words_and_memories_with_embeddings() throws Exception {
        String chat = Fixtures.conversation(api, ada, luna);
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            batch.add(Map.of("role", i % 2 == 0 ? "user" : "assistant", "content", "line " + i));
        }
        for (int round = 0; round < 6; round++) { // 600 messages: more than one page of the export
            api.postOk(201, "/v1/conversations/" + chat + "/messages/batch", Map.of("messages", batch));
        }
        String bensGroup = Fixtures.conversation(api, ben, luna);
        Fixtures.join(api, bensGroup, ada);
        say(bensGroup, ben, "Ben's words are not Ada's", null);
        say(bensGroup, ada, "Ada in Ben's group", null);
        float[] vector = {0.6f, 0.8f, 0f};
        remember(ada, luna, chat, "likes the sea");

        var plain = api.get("/v1/users/" + ada + "/export");
        var gzipped = api.sendBytes("GET", "/v1/users/" + ada + "/export", null, "Accept-Encoding", "gzip");
        var unknown = api.get("/v1/users/999999999/export");

        assertThat(plain.status()).isEqualTo(200);
        assertThat(plain.header("Cache-Control")).isEqualTo("no-store");
        JsonNode export = plain.json();
        assertThat(export.get("user").get("id").asText()).isEqualTo(ada);
        assertThat(export.get("conversations")).hasSize(1);
        JsonNode messages = export.get("conversations").get(0).get("messages");
        assertThat(messages).hasSize(600);
        assertThat(messages.get(0).get("content").asText()).isEqualTo("line 0");
        assertThat(messages.get(599).get("seq").asLong()).isEqualTo(600);
        assertThat(export.get("group_messages")).hasSize(1);
        assertThat(export.get("group_messages").get(0).get("conversation_id").asText()).isEqualTo(bensGroup);
        assertThat(export.get("group_messages").get(0).get("messages").findValuesAsText("content"))
                .containsExactly("Ada in Ben's group");
        JsonNode memory = export.get("memories").get(0);
        assertThat(memory.get("content").asText()).isEqualTo("likes the sea");
        float[] exported = new float[3];
        ByteBuffer.wrap(Base64.getDecoder().decode(memory.get("embedding").asText())).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().get(exported);
        for (int i = 0; i < vector.length; i++) {
            assertThat(exported[i]).isCloseTo(vector[i], within(1e-6f));
        }

        assertThat(gzipped.header("Content-Encoding")).isEqualTo("gzip");
        try (var in = new GZIPInputStream(new ByteArrayInputStream(gzipped.raw().body()))) {
            var unzipped = (ObjectNode) Json.MAPPER.readTree(in);
            var expected = export.deepCopy();
            unzipped.remove("exported_at");
            ((ObjectNode) expected).remove("exported_at");
            assertThat(unzipped.equals(expected)).as("the gzipped export holds the same document").isTrue();
        }
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.isProblem()).isTrue();
    }

    /**
     * The columns of the app's rows that still name the user, as "table.column", looking at every user_id-like
     * column of every table of the schema (a table a later migration adds is looked at too).
     */
    private static List<String> rowsNaming(Connection sql, long app, long userId) throws SQLException {
        List<String> found = new ArrayList<>();
        List<String> looked = new ArrayList<>();
        try (var columns = sql.prepareStatement("""
                SELECT c.table_name, c.column_name FROM information_schema.columns c
                  JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                   AND c.column_name IN ('user_id', 'author_user_id', 'member_id')
                   AND EXISTS (SELECT 1 FROM information_schema.columns a
                                WHERE a.table_schema = c.table_schema AND a.table_name = c.table_name AND a.column_name = 'app_id')
                   AND NOT c.table_name LIKE 'messages\\_%'""")) { // partitions: read through their parent
            ResultSet rs = columns.executeQuery();
            while (rs.next()) {
                String table = rs.getString(1);
                String column = rs.getString(2);
                String kind = column.equals("member_id") ? " AND member_kind = 'user'" : "";
                looked.add(table + "." + column);
                if (count(sql, "SELECT count(*) FROM " + table + " WHERE app_id = ? AND " + column + " = ?" + kind, app, userId) > 0) {
                    found.add(table + "." + column);
                }
            }
        }
        assertThat(looked).as("the columns looked at").contains("messages.user_id", "messages.author_user_id",
                "conversations.user_id", "conversation_members.member_id", "conversation_former_members.user_id",
                "memories.user_id", "memory_scopes.user_id", "users.user_id");
        return found;
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(element -> texts.add(element.asText()));
        return texts;
    }

    private long appOf(Connection sql) throws SQLException {
        return count(sql, "SELECT app_id FROM users WHERE user_id = ?", Long.parseLong(bob));
    }

    private static long count(Connection sql, String query, Object... args) throws SQLException {
        try (var statement = sql.prepareStatement(query)) {
            for (int i = 0; i < args.length; i++) {
                statement.setLong(i + 1, args[i] instanceof String s ? Long.parseLong(s) : (Long) args[i]);
            }
            ResultSet rs = statement.executeQuery();
            rs.next();
            return rs.getLong(1);
        }
    }

    private void say(String conversation, String user, String content, String idempotencyKey) {
        Map<String, Object> body = new HashMap<>(Map.of("role", "user", "content", content));
        if (user != null) {
            body.put("user_id", user);
        }
        String[] headers = idempotencyKey == null ? new String[0] : new String[] {"Idempotency-Key", idempotencyKey};
        api.postOk(201, "/v1/conversations/" + conversation + "/messages", body, headers);
    }

    private String remember(String user, String character, String conversation, String content) {
        Map<String, Object> body = new HashMap<>(Map.of("character_id", character, "content", content,
                "embedding", List.of(0.6, 0.8, 0.0)));
        if (conversation != null) {
            body.put("conversation_id", conversation);
        }
        return api.postOk(201, "/v1/users/" + user + "/memories", body).get("id").asText();
    }

    private JsonNode recall(String user, String character) {
        return api.postOk(200, "/v1/users/" + user + "/memories/recall", Map.of("character_id", character,
                "embedding", List.of(0.6, 0.8, 0.0), "min_similarity", 0.0));
    }
}
