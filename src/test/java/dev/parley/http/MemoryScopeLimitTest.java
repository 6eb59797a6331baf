package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A scope (one user's memories of one character) holds at most PARLEY_MEMORY_SCOPE_LIMIT of embeddings: recall reads a
 * scope whole into memory, and a scope of any size ran a server out of heap. Here an instance beside the shared one
 * takes 16 KiB, four embeddings of 1,024 dimensions; the shared one takes the default 64 MiB.
 */
class MemoryScopeLimitTest {
    private static final int DIMS = 1024;
    private static final int FIT = 4; // 16 KiB / (1,024 * 4 bytes)
    private static Parley small;

    private final Api shared = TestServer.newApp();
    private final Api api = new Api("http://127.0.0.1:" + small.port(), shared.key());
    private final String user = Fixtures.user(shared, "u-" + System.nanoTime());
    private final String character = Fixtures.character(shared, "Mira");
    private final String memories = "/v1/users/" + user + "/memories";

    @BeforeAll
    static void startSmall() {
        TestServer.get(); // the shared instance makes the database
        small = TestServer.alongside(TestServer.DATABASE, Map.of("PARLEY_MEMORY_SCOPE_LIMIT", "16KiB"));
    }

    @AfterAll
    static void stopSmall() {
        small.close();
    }

    @Test
    void a_scope_takes_embeddings_up_to_the_limit_and_one_past_it_is_a_409_that_stores_nothing() throws SQLException {
        for (int i = 0; i < FIT; i++) {
            remember(api, "fact " + i, i);
        }

        Api.Response past = api.post(memories, Map.of("character_id", character, "content", "one too many",
                "embedding", embedding(FIT)));
        JsonNode wordsOnly = api.postOk(201, memories, Map.of("character_id", character, "content", "found by its words"));

        assertThat(past.status()).as(past.toString()).isEqualTo(409);
        assertThat(past.json().get("type").asText()).endsWith("/memory-scope-full");
        assertThat(past.json().get("errors").get(0).get("field").asText()).isEqualTo("embedding");
        assertThat(past.json().get("detail").asText()).contains("hold 4 embeddings of 1024 dimensions")
                .contains("past the 16 KiB of embeddings one scope may hold (PARLEY_MEMORY_SCOPE_LIMIT)").contains("without an embedding");
        assertThat(wordsOnly.get("dims").isNull()).isTrue();
        assertThat(contents()).hasSize(FIT + 1).doesNotContain("one too many");
        assertThat(recall(api).get("considered").asInt()).isEqualTo(FIT);
        assertCountsExact();
    }

    @Test
    void a_batch_past_the_limit_stores_none_of_its_memories_and_names_the_item_that_overflowed() throws SQLException {
        for (int i = 0; i < FIT - 1; i++) {
            remember(api, "fact " + i, i);
        }
        List<Map<String, Object>> batch = List.of(
                Map.of("character_id", character, "content", "words only"),
                Map.of("character_id", character, "content", "the last that fits", "embedding", embedding(10)),
                Map.of("character_id", character, "content", "one too many", "embedding", embedding(11)));

        Api.Response refused = api.post(memories + "/batch", Map.of("memories", batch));

        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("detail").asText()).startsWith("memories[2].embedding: ")
                .contains("hold 3 embeddings of 1024 dimensions, and 2 more");
        assertThat(refused.json().get("errors").get(0).get("field").asText()).as("named as the route's 400s name it")
                .isEqualTo("memories[2].embedding");
        assertThat(contents()).hasSize(FIT - 1);
        assertCountsExact();
    }

    @Test
    void a_deleted_memory_makes_room_and_a_new_embedding_for_a_memory_that_had_one_takes_none() throws SQLException {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < FIT; i++) {
            ids.add(remember(api, "fact " + i, i));
        }
        String wordsOnly = api.postOk(201, memories, Map.of("character_id", character, "content", "words only")).get("id").asText();

        int replaced = api.patch("/v1/memories/" + ids.getFirst(), Map.of("embedding", embedding(20))).status();
        Api.Response given = api.patch("/v1/memories/" + wordsOnly, Map.of("embedding", embedding(21)));
        int deleted = api.delete("/v1/memories/" + ids.get(1)).status();
        int givenAfterDelete = api.patch("/v1/memories/" + wordsOnly, Map.of("embedding", embedding(21))).status();

        assertThat(replaced).isEqualTo(200);
        assertThat(given.status()).as(given.toString()).isEqualTo(409);
        assertThat(deleted).isEqualTo(204);
        assertThat(givenAfterDelete).isEqualTo(200);
        assertThat(recall(api).get("considered").asInt()).isEqualTo(FIT);
        assertCountsExact();
    }

    @Test
    void a_scope_stored_past_the_limit_is_refused_by_recall_and_context_before_it_is_read_and_skipped_by_warm_up() {
        for (int i = 0; i <= FIT; i++) {
            remember(shared, "fact " + i, i); // the shared instance takes 64 MiB
        }
        String conversation = shared.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character))
                .get("id").asText();

        double readBefore = TestServer.metric(api, "parley_recall_embeddings_read_total");
        Api.Response refused = api.post(memories + "/recall", Map.of("character_id", character, "embedding", embedding(0)));
        Api.Response context = api.post("/v1/conversations/" + conversation + "/context",
                Map.of("memory_embedding", embedding(0), "memories", 3));
        Api.Response warm = api.post("/v1/users/" + user + "/warm", null);

        assertThat(refused.status()).as(refused.toString()).isEqualTo(409);
        assertThat(refused.json().get("type").asText()).endsWith("/memory-scope-full");
        assertThat(refused.json().get("detail").asText()).contains("hold 5 embeddings of 1024 dimensions")
                .contains("recall does not read them");
        assertThat(context.status()).as(context.toString()).isEqualTo(409);
        assertThat(warm.status()).as(warm.toString()).isEqualTo(200);
        assertThat(TestServer.metric(api, "parley_recall_embeddings_read_total")).as("embeddings read").isEqualTo(readBefore);
        assertThat(recall(shared).get("considered").asInt()).isEqualTo(FIT + 1);
    }

    @Test
    void a_scope_whose_last_embedding_goes_with_its_conversation_takes_embeddings_of_another_length() {
        String conversation = Fixtures.conversation(shared, user, character);
        shared.postOk(201, memories, Map.of("character_id", character, "content", "from that chat", "embedding", embedding(0),
                "conversation_id", conversation));

        int erased = shared.delete("/v1/conversations/" + conversation + "?memories=delete").status();
        Api.Response otherModel = shared.post(memories, Map.of("character_id", character, "content", "another model's",
                "embedding", List.of(0.6, 0.8)));

        assertThat(erased).isEqualTo(200);
        assertThat(otherModel.status()).as(otherModel.toString()).isEqualTo(201);
    }

    /** Each scope of the test's user counts exactly its memories with an embedding (V38's triggers). */
    private void assertCountsExact() throws SQLException {
        try (Connection sql = TestDatabase.get().connect(TestServer.DATABASE);
             var statement = sql.prepareStatement("""
                     SELECT s.embedded, (SELECT count(*) FROM memories m WHERE m.app_id = s.app_id AND m.user_id = s.user_id
                                           AND m.character_id = s.character_id AND m.embedding IS NOT NULL)
                       FROM memory_scopes s WHERE s.user_id = ?""")) {
            statement.setLong(1, Long.parseLong(user));
            try (ResultSet rows = statement.executeQuery()) {
                assertThat(rows.next()).as("the scope's row").isTrue();
                assertThat(rows.getLong(1)).as("embedded, against the memories counted").isEqualTo(rows.getLong(2));
            }
        }
    }

    private String remember(Api through, String content, int seed) {
        return through.postOk(201, memories, Map.of("character_id", character, "content", content, "embedding", embedding(seed)))
                .get("id").asText();
    }

    private JsonNode recall(Api through) {
        return through.postOk(200, memories + "/recall", Map.of("character_id", character, "embedding", embedding(0),
                "min_similarity", -1, "adaptive", false));
    }

    private List<String> contents() {
        List<String> found = new ArrayList<>();
        shared.getOk(memories + "?character_id=" + character + "&limit=100").get("memories")
                .forEach(memory -> found.add(memory.get("content").asText()));
        return found;
    }

    /** A unit vector of 1,024 float32 values along axis {@code seed}, as base64 of its little-endian bytes. */
    private static String embedding(int seed) {
        var bytes = ByteBuffer.allocate(DIMS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putFloat((seed % DIMS) * Float.BYTES, 1f);
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
