package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.config.Settings;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class MemoriesApiTest {
    private static final int DIMS = 64;

    private final Api api = TestServer.newApp();
    private final String user = Fixtures.user(api, "u-" + System.nanoTime());
    private final String character = Fixtures.character(api, "Mira");
    private final String memories = "/v1/users/" + user + "/memories";

    @Test
    void a_memory_is_stored_read_changed_and_forgotten() {
        JsonNode created = remember("Has a dog named Rex", vector(1, 0, 0), 0.9);
        String id = created.get("id").asText();

        JsonNode changed = api.patch("/v1/memories/" + id, Map.of("content", "Has two dogs, Rex and Nova")).json();
        JsonNode listed = api.getOk(memories + "?character_id=" + character);
        int deleted = api.delete("/v1/memories/" + id).status();

        assertThat(created.get("dims").asInt()).isEqualTo(3);
        assertThat(created.get("importance").asDouble()).isEqualTo(0.9, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(created.has("embedding")).isFalse();
        assertThat(changed.get("content").asText()).isEqualTo("Has two dogs, Rex and Nova");
        assertThat(changed.get("importance").asDouble()).isEqualTo(0.9, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(listed.get("memories")).extracting(m -> m.get("id").asText()).containsExactly(id);
        assertThat(deleted).isEqualTo(204);
        assertThat(api.get("/v1/memories/" + id).status()).isEqualTo(404);
    }

    @Test
    void recall_returns_exactly_the_nearest_memories_in_a_large_scope() {
        var random = new Random(7);
        List<double[]> stored = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            double[] v = randomVector(random);
            stored.add(v);
            ids.add(remember("fact " + i, v, 0.5).get("id").asText());
        }
        double[] query = randomVector(random);

        JsonNode result = recall(query, Map.of("limit", 10, "min_similarity", -1, "adaptive", false,
                "recency_weight", 0, "importance_weight", 0));

        List<String> expected = IntStream.range(0, stored.size()).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -cosine(stored.get(i), query)))
                .limit(10).map(ids::get).toList();
        assertThat(result.get("memories")).extracting(m -> m.get("memory").get("id").asText()).containsExactlyElementsOf(expected);
        assertThat(result.get("considered").asInt()).isEqualTo(300);
        assertThat(result.get("memories").get(0).get("similarity").asDouble())
                .isCloseTo(cosine(stored.get(ids.indexOf(expected.getFirst())), query), org.assertj.core.data.Offset.offset(1e-5));
    }

    @Test
    void the_adaptive_threshold_keeps_memories_that_stand_out_and_drops_the_background() {
        var random = new Random(11);
        double[] topic = randomVector(random);
        List<String> relevant = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            relevant.add(remember("about the topic " + i, near(topic, random, 0.2), 0.5).get("id").asText());
        }
        for (int i = 0; i < 60; i++) {
            remember("background " + i, randomVector(random), 0.5);
        }

        JsonNode adaptive = recall(topic, Map.of("limit", 10, "min_similarity", 0));
        JsonNode fixed = recall(topic, Map.of("limit", 10, "min_similarity", 0, "adaptive", false));

        assertThat(adaptive.get("memories")).extracting(m -> m.get("memory").get("id").asText())
                .containsExactlyInAnyOrderElementsOf(relevant);
        assertThat(adaptive.get("threshold").asDouble()).isGreaterThan(0);
        assertThat(fixed.get("memories")).hasSizeGreaterThan(3);
    }

    @Test
    void importance_breaks_a_tie_between_equally_similar_memories() {
        String minor = remember("likes tea", vector(1, 0, 0), 0.1).get("id").asText();
        String major = remember("is allergic to peanuts", vector(1, 0, 0), 1.0).get("id").asText();

        JsonNode result = recall(new double[] {1, 0, 0}, Map.of("limit", 2));

        assertThat(result.get("memories")).extracting(m -> m.get("memory").get("id").asText()).containsExactly(major, minor);
        assertThat(result.get("memories").get(0).get("score").asDouble())
                .isGreaterThan(result.get("memories").get(1).get("score").asDouble());
    }

    @Test
    void a_write_through_another_instance_is_seen_by_the_next_recall() {
        remember("lives in Lyon", vector(1, 0, 0), 0.5);
        assertThat(recall(new double[] {0, 1, 0}, Map.of("adaptive", false)).get("memories")).isEmpty(); // vectors now held

        var settings = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "0", "PARLEY_HOST", "127.0.0.1", "PARLEY_ADMIN_PORT", "0"));
        try (Parley other = Parley.start(settings, TestDatabase.get().target("parley_api"), false, Clock.systemUTC())) {
            var elsewhere = new Api("http://127.0.0.1:" + other.port(), api.key());
            elsewhere.postOk(201, memories, Map.of("character_id", character, "content", "plays the cello",
                    "embedding", List.of(0.0, 1.0, 0.0)));
            String first = recall(new double[] {1, 0, 0}, Map.of()).get("memories").get(0).get("memory").get("id").asText();
            elsewhere.delete("/v1/memories/" + first);
        }

        // The other instance's writes are announced as they commit (V27), and heard here a moment later.
        Wait.until("the other instance's writes recalled here", Duration.ofSeconds(1),
                () -> recall(new double[] {0, 1, 0}, Map.of("adaptive", false)).get("considered").asInt() == 1);
        JsonNode after = recall(new double[] {0, 1, 0}, Map.of("adaptive", false));
        assertThat(after.get("memories")).extracting(m -> m.get("memory").get("content").asText()).containsExactly("plays the cello");
    }

    @Test
    void a_warm_recall_reads_nothing_from_the_database_and_the_next_recall_after_a_write_sees_it() {
        String cello = remember("plays the cello", vector(1, 0, 0), 0.5).get("id").asText();
        String lyon = remember("lives in Lyon", vector(0, 1, 0), 0.5).get("id").asText();
        double[] query = vector(0.8, 0.6, 0);
        assertThat(contents(recall(query, everyOne()))).containsExactly("plays the cello", "lives in Lyon");

        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> recall(query, everyOne()));
        assertThat(ran).as("the scope's version, vectors and memories are held, and no write has been heard of").isEmpty();

        api.patch("/v1/memories/" + cello, Map.of("content", "plays the viola"));
        assertThat(contents(recall(query, everyOne()))).as("a changed text").containsExactly("plays the viola", "lives in Lyon");
        remember("hates the rain", vector(0, 0, 1), 0.5);
        assertThat(contents(recall(query, everyOne()))).as("a new memory")
                .containsExactly("plays the viola", "lives in Lyon", "hates the rain");
        api.delete("/v1/memories/" + lyon);
        assertThat(contents(recall(query, everyOne()))).as("a deleted one").containsExactly("plays the viola", "hates the rain");
        api.patch("/v1/memories/" + cello, Map.of("embedding", List.of(0.0, 0.0, -1.0)));
        assertThat(contents(recall(vector(0, 0, -1), Map.of("limit", 1, "adaptive", false)))).as("a moved vector")
                .containsExactly("plays the viola");
        assertThat(contents(recall(query, everyOne()))).containsExactlyInAnyOrder("hates the rain", "plays the viola");
        ran = TestServer.statementsRunBy(api, () -> recall(query, everyOne()));
        assertThat(ran).as("held again once a recall has read the new version").isEmpty();
    }

    /** Each recalled memory's {@code field}, best first. */
    private static List<String> recalled(JsonNode result, String field) {
        List<String> values = new ArrayList<>();
        result.get("memories").forEach(m -> values.add(m.get("memory").get(field).asText()));
        return values;
    }

    private static List<String> contents(JsonNode result) {
        return recalled(result, "content");
    }

    @Test
    void after_writes_recall_reads_only_the_memories_written_and_sees_every_change() {
        // 4,096 numbers: recall holds 16 such vectors a chunk, so these 40 memories take three chunks, and a write
        // leaves some chunks as they were (shared by the next version) and changes others.
        int dims = 4096;
        var random = new Random(13);
        Map<String, double[]> stored = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            double[] v = randomVector(random, dims);
            stored.put(remember("fact " + i, v, 0.5).get("id").asText(), v);
        }
        double[] query = randomVector(random, dims);
        recall(query, everyOne()); // the scope's 40 embeddings now held
        List<String> ids = List.copyOf(stored.keySet());
        double readBefore = embeddingsRead();

        double[] added = randomVector(random, dims);
        stored.put(remember("a new fact", added, 0.5).get("id").asText(), added);
        JsonNode afterInsert = recall(query, everyOne());
        Map<String, double[]> storedAfterInsert = new LinkedHashMap<>(stored);
        double[] moved = randomVector(random, dims);
        api.patch("/v1/memories/" + ids.get(20), Map.of("embedding", java.util.Arrays.stream(moved).boxed().toList()));
        stored.put(ids.get(20), moved);
        api.patch("/v1/memories/" + ids.get(5), Map.of("importance", 0.9));
        api.delete("/v1/memories/" + ids.get(7));
        stored.remove(ids.get(7));
        JsonNode afterChanges = recall(query, everyOne());

        // The first refresh reads what was written at or after the version held (V29): the added memory and the last
        // of the 40, written at that version. The second follows a delete, so it lists the scope and reads the two changed.
        assertThat(embeddingsRead() - readBefore).as("two, then the two changed: not the scope's 40, twice")
                .isEqualTo(4);
        assertThat(afterInsert.get("considered").asInt()).isEqualTo(41);
        assertRecalledExactly(afterInsert, query, storedAfterInsert, null, 0.5);
        assertThat(afterChanges.get("considered").asInt()).isEqualTo(40);
        assertRecalledExactly(afterChanges, query, stored, ids.get(5), 0.9);
    }

    @Test
    void after_an_insert_or_an_edit_recall_reads_what_was_written_and_lists_the_scope_only_after_a_delete() {
        var random = new Random(17);
        Map<String, double[]> stored = new LinkedHashMap<>();
        for (int i = 0; i < 30; i++) {
            double[] v = randomVector(random, 64);
            stored.put(remember("fact " + i, v, 0.5).get("id").asText(), v);
        }
        double[] query = randomVector(random, 64);
        recall(query, everyOne());
        List<String> ids = List.copyOf(stored.keySet());

        double[] added = randomVector(random, 64);
        double[] moved = randomVector(random, 64);
        JsonNode[] afterWrites = new JsonNode[1];
        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> {
            stored.put(remember("a new fact", added, 0.5).get("id").asText(), added);
            api.patch("/v1/memories/" + ids.get(3), Map.of("embedding", java.util.Arrays.stream(moved).boxed().toList()));
            api.patch("/v1/memories/" + ids.get(11), Map.of("importance", 0.9));
            afterWrites[0] = recall(query, everyOne());
        });
        stored.put(ids.get(3), moved);
        assertThat(ran).as("the recall after an insert and two edits").containsKey("memory.changed_since")
                .doesNotContainKey("memory.scope_rows");
        assertThat(afterWrites[0].get("considered").asInt()).isEqualTo(31);
        assertRecalledExactly(afterWrites[0], query, stored, ids.get(11), 0.9);

        JsonNode[] afterDelete = new JsonNode[1];
        ran = TestServer.statementsRunBy(api, () -> {
            api.delete("/v1/memories/" + ids.get(20));
            afterDelete[0] = recall(query, everyOne());
        });
        stored.remove(ids.get(20));
        assertThat(ran).as("the recall after a delete, which finds the memory gone only in a list of the scope")
                .containsKey("memory.scope_rows");
        assertThat(afterDelete[0].get("considered").asInt()).isEqualTo(30);
        assertRecalledExactly(afterDelete[0], query, stored, ids.get(11), 0.9);

        double[] last = randomVector(random, 64);
        ran = TestServer.statementsRunBy(api, () -> {
            stored.put(remember("after the delete", last, 0.5).get("id").asText(), last);
            afterWrites[0] = recall(query, everyOne());
        });
        assertThat(ran).as("an insert once the copy is past the delete").doesNotContainKey("memory.scope_rows");
        assertRecalledExactly(afterWrites[0], query, stored, ids.get(11), 0.9);
    }

    @Test
    void a_recall_right_after_a_write_reads_none_of_the_memories_it_returned_before_that_are_unchanged() {
        var random = new Random(23);
        List<double[]> vectors = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            vectors.add(randomVector(random, 32));
            remember("fact " + i, vectors.getLast(), 0.5);
        }
        double[] query = vectors.get(4);
        Map<String, Object> topFive = Map.of("limit", 5, "min_similarity", -1, "adaptive", false, "recency_weight", 0);
        JsonNode before = recall(query, topFive); // the five rows now kept with the scope's vectors

        double[] opposite = java.util.Arrays.stream(query).map(x -> -x).toArray(); // last of all: not among the five
        JsonNode[] after = new JsonNode[1];
        Map<String, Double> ran = TestServer.statementsRunBy(api, () -> {
            remember("far from the query", opposite, 0.5);
            after[0] = recall(query, topFive);
        });

        assertThat(ran).as("the recall after a write").containsKey("memory.changed_since").doesNotContainKey("memory.get_many");
        assertThat(contents(after[0])).isEqualTo(contents(before));
    }

    @Test
    void a_small_scope_holds_the_memory_of_its_vectors_not_of_a_whole_chunk() {
        double before = TestServer.metric(api, "parley_recall_bytes");
        var random = new Random(5);
        for (int i = 0; i < 3; i++) {
            remember("fact " + i, randomVector(random, 768), 0.5);
        }
        recall(randomVector(random, 768), everyOne());

        // Three vectors of 768 floats are 9 KB; a chunk of 256 KB each would be 28 times that.
        assertThat(TestServer.metric(api, "parley_recall_bytes") - before).isBetween(3 * 768 * 4.0, 16 * 1024.0);
    }

    private static Map<String, Object> everyOne() {
        return Map.of("limit", 50, "min_similarity", -1, "adaptive", false, "recency_weight", 0, "importance_weight", 1);
    }

    /**
     * Every memory of {@code stored}, and no other, came back with its similarity to {@code query} and a score of
     * similarity plus importance: 0.5 for all but {@code weighty}'s {@code weight}.
     */
    private static void assertRecalledExactly(JsonNode result, double[] query, Map<String, double[]> stored, String weighty,
                                              double weight) {
        Map<String, JsonNode> recalled = new HashMap<>();
        result.get("memories").forEach(m -> recalled.put(m.get("memory").get("id").asText(), m));
        assertThat(recalled.keySet()).containsExactlyInAnyOrderElementsOf(stored.keySet());
        stored.forEach((id, v) -> {
            JsonNode hit = recalled.get(id);
            double similarity = hit.get("similarity").asDouble();
            assertThat(similarity).as("memory %s's vector", id).isCloseTo(cosine(v, query), org.assertj.core.data.Offset.offset(1e-5));
            assertThat(hit.get("score").asDouble() - similarity).as("memory %s's importance", id)
                    .isCloseTo(id.equals(weighty) ? weight : 0.5, org.assertj.core.data.Offset.offset(1e-6));
        });
    }

    private double embeddingsRead() {
        return TestServer.metric(api, "parley_recall_embeddings_read_total");
    }

    @Test
    void an_embedding_of_another_length_than_the_scopes_is_refused() {
        remember("first", vector(1, 0, 0), 0.5);

        var longer = api.post(memories, Map.of("character_id", character, "content", "x", "embedding", List.of(1.0, 0.0)));
        var query = api.post(memories + "/recall", Map.of("character_id", character, "embedding", List.of(1.0, 0.0)));
        String first = api.getOk(memories + "?character_id=" + character).get("memories").get(0).get("id").asText();
        var changed = api.patch("/v1/memories/" + first, Map.of("embedding", List.of(1.0, 0.0)));

        assertThat(longer.status()).isEqualTo(400);
        assertThat(longer.json().get("errors").get(0).get("field").asText()).isEqualTo("embedding");
        assertThat(longer.json().get("detail").asText()).contains("2 dimensions").contains("have 3");
        assertThat(query.status()).isEqualTo(400);
        assertThat(changed.status()).as("a change to another length is refused too").isEqualTo(400);
        assertThat(api.getOk(memories + "?character_id=" + character).get("memories")).hasSize(1);

        assertThat(api.delete("/v1/memories/" + first).status()).isEqualTo(204);
        var afterwards = api.post(memories, Map.of("character_id", character, "content", "x", "embedding", List.of(1.0, 0.0)));
        assertThat(afterwards.status()).as("no embedding left: the scope takes another model's").isEqualTo(201);
    }

    @Test
    void memories_without_embeddings_leave_recall_and_context_free_to_take_a_vector_of_any_length() {
        String conversation = Fixtures.conversation(api, user, character);
        Fixtures.say(api, conversation, "user", "hi");
        api.postOk(201, memories, Map.of("character_id", character, "content", "likes green tea"));
        Map<String, Object> twoDims = Map.of("character_id", character, "embedding", List.of(1.0, 0.0));

        JsonNode recalled = api.postOk(200, memories + "/recall", twoDims);
        JsonNode context = api.postOk(200, "/v1/conversations/" + conversation + "/context",
                Map.of("memory_embedding", List.of(1.0, 0.0, 0.0, 0.0)));

        assertThat(recalled.get("memories")).isEmpty();
        assertThat(recalled.get("considered").asInt()).isZero();
        assertThat(context.get("memories")).isEmpty();

        String embedded = remember("has a dog named Rex", vector(1, 0, 0), 0.5).get("id").asText();
        assertThat(api.post(memories + "/recall", twoDims).status()).as("the scope's embeddings have 3 dimensions").isEqualTo(400);
        assertThat(api.delete("/v1/memories/" + embedded).status()).isEqualTo(204);
        assertThat(api.postOk(200, memories + "/recall", twoDims).get("memories"))
                .as("its last embedding gone, the scope takes any length again").isEmpty();
    }

    @Test
    void bad_vectors_and_weights_are_named() {
        Map<String, Object> zero = Map.of("character_id", character, "content", "x", "embedding", List.of(0.0, 0.0));
        Map<String, Object> importance = Map.of("character_id", character, "content", "x", "importance", 1.5);
        Map<String, Object> unknownCharacter = Map.of("character_id", "987654321", "content", "x");
        Map<String, Object> noEmbedding = Map.of("character_id", character);

        assertThat(fieldOf(api.post(memories, zero))).isEqualTo("embedding");
        assertThat(fieldOf(api.post(memories, Map.of("character_id", character, "content", "x", "embedding", List.of(1.0, 1e39)))))
                .isEqualTo("embedding[1]");
        assertThat(fieldOf(api.post(memories, importance))).isEqualTo("importance");
        assertThat(fieldOf(api.post(memories, unknownCharacter))).isEqualTo("character_id");
        assertThat(fieldOf(api.post(memories + "/recall", noEmbedding))).isEqualTo("embedding");
        assertThat(fieldOf(api.post(memories + "/recall", Map.of("character_id", character, "embedding", List.of(1.0), "limit", 0))))
                .isEqualTo("limit");
    }

    @Test
    void context_carries_the_recalled_memories_after_the_system_prompt() {
        String mira = api.postOk(201, "/v1/characters", Map.of("name", "Mira", "system_prompt", "You are Mira.")).get("id").asText();
        String conversation = Fixtures.conversation(api, user, mira);
        Fixtures.say(api, conversation, "user", "hi");
        api.postOk(201, memories, Map.of("character_id", mira, "content", "has a dog named Rex", "embedding", List.of(1.0, 0.0)));
        api.postOk(201, memories, Map.of("character_id", mira, "content", "works night shifts", "embedding", List.of(0.0, 1.0)));

        JsonNode byVector = api.postOk(200, "/v1/conversations/" + conversation + "/context",
                Map.of("memory_embedding", List.of(0.9, 0.1), "memories", 1));
        JsonNode byWords = api.getOk("/v1/conversations/" + conversation + "/context?memory_query=shift");
        JsonNode without = api.getOk("/v1/conversations/" + conversation + "/context");

        assertThat(byVector.get("memories")).extracting(m -> m.get("content").asText()).containsExactly("has a dog named Rex");
        assertThat(byVector.get("messages").get(0).get("content").asText()).isEqualTo("You are Mira.");
        assertThat(byVector.get("messages").get(1).get("role").asText()).isEqualTo("system");
        assertThat(byVector.get("messages").get(1).get("content").asText()).contains("has a dog named Rex");
        assertThat(byVector.get("messages").get(2).get("content").asText()).isEqualTo("hi");
        assertThat(byWords.get("memories")).extracting(m -> m.get("content").asText()).containsExactly("works night shifts");
        assertThat(without.get("memories")).isEmpty();
        assertThat(without.get("messages")).hasSize(2);
    }

    @Test
    void embeddings_sent_as_base64_of_float32_recall_as_the_same_numbers_do() {
        var random = new Random(9);
        for (int i = 0; i < 40; i++) {
            double[] v = randomVector(random);
            Object embedding = i % 2 == 0 ? base64(v) : java.util.Arrays.stream(v).boxed().toList();
            api.postOk(201, memories, Map.of("character_id", character, "content", "fact " + i, "embedding", embedding));
        }
        double[] query = randomVector(random);

        JsonNode asNumbers = recall(query, Map.of("limit", 10, "adaptive", false, "min_similarity", -1));
        JsonNode asBase64 = api.postOk(200, memories + "/recall", Map.of("character_id", character, "embedding", base64(query),
                "limit", 10, "adaptive", false, "min_similarity", -1));

        assertThat(asBase64.get("memories")).hasSize(10);
        assertThat(recalled(asBase64, "id")).isEqualTo(recalled(asNumbers, "id"));
        for (int i = 0; i < 10; i++) {
            assertThat(asBase64.get("memories").get(i).get("similarity").asDouble())
                    .isCloseTo(asNumbers.get("memories").get(i).get("similarity").asDouble(), org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void context_and_a_memory_change_take_base64_embeddings_too() {
        String mira = api.postOk(201, "/v1/characters", Map.of("name", "Mira", "system_prompt", "You are Mira.")).get("id").asText();
        String conversation = Fixtures.conversation(api, user, mira);
        String rex = api.postOk(201, memories, Map.of("character_id", mira, "content", "has a dog named Rex",
                "embedding", base64(vector(0, 1)))).get("id").asText();
        api.postOk(201, memories, Map.of("character_id", mira, "content", "works night shifts", "embedding", base64(vector(0.1, 0.9))));

        api.patch("/v1/memories/" + rex, Map.of("embedding", base64(vector(1, 0))));
        JsonNode context = api.postOk(200, "/v1/conversations/" + conversation + "/context",
                Map.of("memory_embedding", base64(vector(0.9, 0.1)), "memories", 1));

        assertThat(context.get("memories")).extracting(m -> m.get("content").asText()).containsExactly("has a dog named Rex");
    }

    @Test
    void base64_that_is_not_whole_float32_values_is_refused_naming_the_field() {
        String conversation = Fixtures.conversation(api, user, character);
        String sixBytes = java.util.Base64.getEncoder().encodeToString(new byte[6]);

        var notBase64 = api.post(memories, Map.of("character_id", character, "content", "x", "embedding", "AAAA*AAA"));
        var lineBreak = api.post(memories + "/recall", Map.of("character_id", character, "embedding", "AAAA\nAAAA"));
        var urlAlphabet = api.post(memories + "/recall", Map.of("character_id", character, "embedding", "AAAA_-8A"));
        var partial = api.post(memories + "/recall", Map.of("character_id", character, "embedding", sixBytes));
        var empty = api.post(memories, Map.of("character_id", character, "content", "x", "embedding", ""));
        var context = api.post("/v1/conversations/" + conversation + "/context", Map.of("memory_embedding", sixBytes));
        var number = api.post(memories + "/recall", Map.of("character_id", character, "embedding", 5));
        var notANumber = api.post(memories + "/recall", Map.of("character_id", character, "embedding",
                java.util.Base64.getEncoder().encodeToString(new byte[] {0, 0, (byte) 0xC0, 0x7F})));

        assertThat(fieldOf(notBase64)).isEqualTo("embedding");
        assertThat(notBase64.json().get("detail").asText()).contains("not valid base64");
        assertThat(lineBreak.json().get("detail").asText()).as("names the character a person sees, not its code")
                .contains("a line break at character 4");
        assertThat(fieldOf(urlAlphabet)).isEqualTo("embedding");
        assertThat(urlAlphabet.json().get("detail").asText()).contains("'_' at character 4");
        assertThat(fieldOf(partial)).isEqualTo("embedding");
        assertThat(partial.json().get("detail").asText()).contains("6 bytes").contains("4-byte float32");
        assertThat(fieldOf(empty)).isEqualTo("embedding");
        assertThat(fieldOf(context)).isEqualTo("memory_embedding");
        assertThat(fieldOf(number)).isEqualTo("embedding");
        assertThat(number.json().get("detail").asText()).contains("array of numbers or a base64 string");
        assertThat(fieldOf(notANumber)).isEqualTo("embedding[0]");
    }

    /** The vector's float32 values, little-endian, in base64: what numpy's {@code astype('<f4').tobytes()} gives. */
    private static String base64(double[] vector) {
        var bytes = java.nio.ByteBuffer.allocate(vector.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (double v : vector) {
            bytes.putFloat((float) v);
        }
        return java.util.Base64.getEncoder().encodeToString(bytes.array());
    }

    @Test
    void context_finds_memories_by_words_in_the_conversations_language() {
        String french = api.postOk(201, "/v1/conversations", Map.of("user_id", user, "character_id", character,
                "language", "french")).get("id").asText();
        api.postOk(201, memories, Map.of("character_id", character, "content", "Elle chantait dans une chorale",
                "language", "french"));

        JsonNode context = api.getOk("/v1/conversations/" + french + "/context?memory_query=chanteront");

        assertThat(context.get("conversation").get("language").asText()).isEqualTo("french");
        assertThat(context.get("memories")).extracting(m -> m.get("content").asText())
                .containsExactly("Elle chantait dans une chorale");
    }

    private JsonNode remember(String content, double[] embedding, double importance) {
        List<Double> values = new ArrayList<>();
        for (double v : embedding) {
            values.add(v);
        }
        return api.postOk(201, memories, Map.of("character_id", character, "content", content, "embedding", values,
                "importance", importance));
    }

    private JsonNode recall(double[] query, Map<String, Object> options) {
        Map<String, Object> body = new HashMap<>(options);
        body.put("character_id", character);
        body.put("embedding", java.util.Arrays.stream(query).boxed().toList());
        return api.postOk(200, memories + "/recall", body);
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }

    private static double[] vector(double... values) {
        return values;
    }

    private static double[] randomVector(Random random) {
        return randomVector(random, DIMS);
    }

    private static double[] randomVector(Random random, int dims) {
        double[] v = new double[dims];
        for (int i = 0; i < dims; i++) {
            v[i] = random.nextGaussian();
        }
        return v;
    }

    private static double[] near(double[] center, Random random, double noise) {
        double norm = Math.sqrt(java.util.Arrays.stream(center).map(x -> x * x).sum());
        double[] v = new double[center.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = center[i] / norm + noise * random.nextGaussian() / Math.sqrt(v.length);
        }
        return v;
    }

    private static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
