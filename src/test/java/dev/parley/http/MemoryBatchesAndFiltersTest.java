package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Memories as pup.ai uses them: batches, imports with their time, filters and orders, recall that favours a conversation. */
class MemoryBatchesAndFiltersTest {
    private final Api api = TestServer.newApp();
    private final String user = Fixtures.user(api, "u-" + System.nanoTime());
    private final String character = Fixtures.character(api, "Mira");
    private final String memories = "/v1/users/" + user + "/memories";

    @Test
    void a_batch_stores_every_memory_in_the_order_sent() {
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            batch.add(memory("fact " + i, 0.5));
        }

        JsonNode stored = api.postOk(201, memories + "/batch", Map.of("memories", batch));

        assertThat(stored.get("memories")).hasSize(1000);
        assertThat(stored.get("memories").get(999).get("content").asText()).isEqualTo("fact 999");
        assertThat(api.getOk(memories + "?character_id=" + character + "&limit=100").get("memories")).hasSize(100);
    }

    @Test
    void a_batch_with_one_bad_memory_stores_none_and_names_it() {
        var unknownCharacter = new HashMap<>(memory("second", 0.5));
        unknownCharacter.put("character_id", "999999999");
        var otherDims = new HashMap<>(memory("third", 0.5));
        otherDims.put("embedding", List.of(1.0, 0.0));
        var withEmbedding = new HashMap<>(memory("first", 0.5));
        withEmbedding.put("embedding", List.of(1.0, 0.0, 0.0));

        var missing = api.post(memories + "/batch", Map.of("memories", List.of(memory("first", 0.5), unknownCharacter)));
        var mismatch = api.post(memories + "/batch", Map.of("memories", List.of(withEmbedding, memory("x", 0.5), otherDims)));
        var tooMany = api.post(memories + "/batch", Map.of("memories", java.util.Collections.nCopies(1001, memory("m", 0.5))));
        var invalid = api.post(memories + "/batch", Map.of("memories", List.of(memory("ok", 0.5), memory("bad", 1.5))));

        assertThat(fieldOf(missing)).isEqualTo("memories[1].character_id");
        assertThat(fieldOf(mismatch)).isEqualTo("memories[2].embedding");
        assertThat(fieldOf(tooMany)).isEqualTo("memories");
        assertThat(fieldOf(invalid)).isEqualTo("memories[1].importance");
        assertThat(api.getOk(memories + "?character_id=" + character).get("memories")).isEmpty(); // the valid ones too
    }

    @Test
    void an_imported_memory_keeps_its_original_time_but_not_one_in_the_future() {
        Instant original = Instant.parse("2024-05-01T12:00:00Z");
        var imported = new HashMap<>(memory("met at the lake", 0.5));
        imported.put("created_at", original.toString());
        var future = new HashMap<>(memory("tomorrow", 0.5));
        future.put("created_at", Instant.now().plus(Duration.ofHours(1)).toString());
        var skewed = new HashMap<>(memory("a little ahead", 0.5));
        skewed.put("created_at", Instant.now().plusSeconds(30).toString());
        var malformed = new HashMap<>(memory("when?", 0.5));
        malformed.put("created_at", "yesterday");

        JsonNode stored = api.postOk(201, memories, imported);

        assertThat(Instant.parse(stored.get("created_at").asText())).isEqualTo(original);
        assertThat(fieldOf(api.post(memories, future))).isEqualTo("created_at");
        assertThat(api.post(memories, skewed).status()).isEqualTo(201);
        assertThat(fieldOf(api.post(memories, malformed))).isEqualTo("created_at");
        assertThat(fieldOf(api.post(memories + "/batch", Map.of("memories", List.of(imported, future)))))
                .isEqualTo("memories[1].created_at");
    }

    @Test
    void memories_are_filtered_by_metadata_and_importance() {
        String dog = store("has a dog", 0.9, Map.of("type", "pet"));
        store("likes tea", 0.2, Map.of("type", "preference"));
        String cat = store("had a cat", 0.4, Map.of("type", "pet"));
        store("is tall", 0.7, null);

        assertThat(ids("&metadata=" + encode("{\"type\":\"pet\"}"))).containsExactly(cat, dog);
        assertThat(ids("&min_importance=0.3&max_importance=0.8").size()).isEqualTo(2);
        assertThat(ids("&metadata=" + encode("{\"type\":\"pet\"}") + "&min_importance=0.5")).containsExactly(dog);
        assertThat(fieldOf(api.get(memories + "?character_id=" + character + "&min_importance=0.8&max_importance=0.2")))
                .isEqualTo("max_importance");
        assertThat(fieldOf(api.get(memories + "?character_id=" + character + "&min_importance=2"))).isEqualTo("min_importance");
    }

    @Test
    void an_importance_bound_too_small_for_a_real_matches_as_the_stored_importance_does() {
        String tiny = store("remembers a dream", 1e-300, null); // stored as 0, the nearest real
        String some = store("likes tea", 0.2, null);

        assertThat(ids("&min_importance=1e-46")).containsExactlyInAnyOrder(tiny, some);
        assertThat(ids("&max_importance=4.9e-324")).containsExactly(tiny);
        assertThat(ids("&min_importance=1e-300&max_importance=1e-300")).containsExactly(tiny);
    }

    @Test
    void memories_are_ordered_by_importance_recency_or_relevance_and_paged_by_cursor() {
        String low = store("walks in the park", 0.1, null);
        String high = store("allergic to peanuts", 0.9, null);
        String middle = store("peanuts make her sneeze", 0.5, null);
        var old = new HashMap<>(memory("grew up near the sea", 0.3));
        old.put("created_at", Instant.now().minus(365, ChronoUnit.DAYS).toString());
        String oldest = api.postOk(201, memories, old).get("id").asText();

        JsonNode firstPage = api.getOk(memories + "?character_id=" + character + "&order=importance&limit=2");
        JsonNode secondPage = api.getOk(memories + "?character_id=" + character + "&order=importance&limit=2&cursor="
                + firstPage.get("next_cursor").asText());

        assertThat(idsOf(firstPage)).containsExactly(high, middle);
        assertThat(idsOf(secondPage)).containsExactly(oldest, low);
        assertThat(ids("&order=recent")).containsExactly(middle, high, low, oldest);
        assertThat(ids("&order=newest")).containsExactly(oldest, middle, high, low);
        assertThat(ids("&q=peanuts")).containsExactlyInAnyOrder(high, middle);
        assertThat(fieldOf(api.get(memories + "?character_id=" + character + "&order=relevance"))).isEqualTo("q");
        var otherOrder = api.get(memories + "?character_id=" + character + "&order=recent&cursor="
                + firstPage.get("next_cursor").asText());
        assertThat(fieldOf(otherOrder)).isEqualTo("cursor");
        assertThat(otherOrder.json().get("detail").asText()).as("says why a cursor this endpoint gave is refused").contains("order");
    }

    @Test
    void a_character_that_does_not_exist_is_an_error_on_every_memory_read_as_in_recall() {
        String other = Fixtures.character(TestServer.newApp(), "Elsewhere"); // exists, in another app
        store("likes tea", 0.5, null);

        for (String read : List.of(memories + "?character_id=" + other, memories + "?character_id=" + other + "&q=tea",
                "/v1/search/memories?q=tea&user_id=" + user + "&character_id=" + other,
                memories + "?character_id=999999999&order=importance")) {
            var answer = api.get(read);
            assertThat(answer.status()).as(read).isEqualTo(400);
            assertThat(fieldOf(answer)).as(read).isEqualTo("character_id");
        }
        assertThat(ids("")).as("the character that exists still lists").hasSize(1);
    }

    @Test
    void words_filter_the_other_orders_and_every_match_is_paged_through() {
        List<String> matching = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            matching.add(store("peanuts, note " + i, 0.1 * (i + 1), null));
            store("walks in the park, note " + i, 0.5, null);
        }

        for (String order : List.of("newest", "importance", "recent")) {
            List<String> paged = new ArrayList<>();
            String cursor = "";
            do {
                JsonNode page = api.getOk(memories + "?character_id=" + character + "&q=peanuts&order=" + order + "&limit=2" + cursor);
                paged.addAll(idsOf(page));
                cursor = page.get("next_cursor").isNull() ? null : "&cursor=" + page.get("next_cursor").asText();
            } while (cursor != null);
            // stored one after the other, each more important than the last: every order puts the last stored first
            assertThat(paged).as(order).containsExactlyElementsOf(matching.reversed());
        }
    }

    @Test
    void recall_favours_the_memories_of_the_named_conversation_as_much_as_it_is_told() {
        var pair = rememberedHereAndElsewhere();
        String conversation = pair.conversation();
        String here = pair.here();
        String there = pair.there();

        List<String> unweighted = recalled(Map.of("conversation_id", conversation, "conversation_weight", 0));
        List<String> weighted = recalled(Map.of("conversation_id", conversation, "conversation_weight", 1));

        assertThat(unweighted).containsExactly(there, here); // importance decides
        assertThat(weighted).containsExactly(here, there); // the conversation outweighs it
        assertThat(api.getOk("/v1/memories/" + here).get("conversation_id").asText()).isEqualTo(conversation);
    }

    @Test
    void a_context_recalls_the_memories_of_its_own_conversation_first() {
        var pair = rememberedHereAndElsewhere();
        String conversation = pair.conversation();
        String here = pair.here();
        String there = pair.there();

        var context = api.postOk(200, "/v1/conversations/" + conversation + "/context",
                Map.of("memories", 2, "memory_embedding", List.of(1.0, 0.0, 0.0)));

        // importance alone would put the other first (0.9 against 0.1, weight 0.1); its own conversation weighs 0.1
        assertThat(idsIn(context.get("memories"), m -> m)).containsExactly(here, there);
    }

    @Test
    void a_memory_names_only_a_conversation_of_its_user() {
        String otherUser = Fixtures.user(api, "other-" + System.nanoTime());
        String theirs = Fixtures.conversation(api, otherUser, character);
        var memory = new HashMap<>(memory("overheard", 0.5));
        memory.put("conversation_id", theirs);

        assertThat(fieldOf(api.post(memories, memory))).isEqualTo("conversation_id");
        assertThat(fieldOf(api.post(memories + "/batch", Map.of("memories", List.of(memory))))).isEqualTo("memories[0].conversation_id");
        assertThat(fieldOf(api.post(memories + "/recall", Map.of("character_id", character, "embedding", List.of(1.0),
                "conversation_id", theirs)))).isEqualTo("conversation_id");
        assertThat(fieldOf(api.post(memories + "/recall", Map.of("character_id", character, "embedding", List.of(1.0),
                "conversation_weight", 1)))).isEqualTo("conversation_weight");
    }

    @Test
    void a_memory_names_a_group_its_user_joined_as_a_guest_and_recall_favours_it() {
        String host = Fixtures.user(api, "host-" + System.nanoTime());
        String group = Fixtures.conversation(api, host, character);
        Fixtures.join(api, group, user);
        var inGroup = new HashMap<>(memory("said it in the group", 0.1));
        inGroup.put("embedding", List.of(1.0, 0.0, 0.0));
        inGroup.put("conversation_id", group);
        var elsewhere = new HashMap<>(memory("said it elsewhere", 0.9));
        elsewhere.put("embedding", List.of(1.0, 0.0, 0.0));

        String here = api.postOk(201, memories, inGroup).get("id").asText();
        JsonNode batched = api.postOk(201, memories + "/batch", Map.of("memories", List.of(inGroup))).get("memories").get(0);
        String there = api.postOk(201, memories, elsewhere).get("id").asText();
        List<String> recalled = recalled(Map.of("conversation_id", group, "conversation_weight", 1, "limit", 3));

        assertThat(api.getOk("/v1/memories/" + here).get("conversation_id").asText()).isEqualTo(group);
        assertThat(batched.get("conversation_id").asText()).isEqualTo(group);
        // the group's two outweigh the more important one
        assertThat(recalled.subList(0, 2)).containsExactlyInAnyOrder(here, batched.get("id").asText());
        assertThat(recalled.get(2)).isEqualTo(there);
    }

    /** Two memories along the same vector: one made in a new conversation, of low importance; one made elsewhere, of high. */
    private record Remembered(String conversation, String here, String there) {
    }

    private Remembered rememberedHereAndElsewhere() {
        String conversation = Fixtures.conversation(api, user, character);
        var fromConversation = new HashMap<>(memory("said it in this chat", 0.1));
        fromConversation.put("embedding", List.of(1.0, 0.0, 0.0));
        fromConversation.put("conversation_id", conversation);
        var elsewhere = new HashMap<>(memory("said it elsewhere", 0.9));
        elsewhere.put("embedding", List.of(1.0, 0.0, 0.0));
        return new Remembered(conversation, api.postOk(201, memories, fromConversation).get("id").asText(),
                api.postOk(201, memories, elsewhere).get("id").asText());
    }

    private List<String> recalled(Map<String, Object> options) {
        Map<String, Object> body = new HashMap<>(options);
        body.put("character_id", character);
        body.put("embedding", List.of(1.0, 0.0, 0.0));
        body.put("adaptive", false);
        return idsIn(api.postOk(200, memories + "/recall", body).get("memories"), m -> m.get("memory"));
    }

    private Map<String, Object> memory(String content, double importance) {
        return Map.of("character_id", character, "content", content, "importance", importance);
    }

    private String store(String content, double importance, Map<String, Object> metadata) {
        var body = new HashMap<>(memory(content, importance));
        if (metadata != null) {
            body.put("metadata", metadata);
        }
        return api.postOk(201, memories, body).get("id").asText();
    }

    private List<String> ids(String query) {
        return idsOf(api.getOk(memories + "?character_id=" + character + query));
    }

    private static List<String> idsOf(JsonNode page) {
        return idsIn(page.get("memories"), m -> m);
    }

    private static List<String> idsIn(JsonNode rows, java.util.function.UnaryOperator<JsonNode> memoryOf) {
        List<String> ids = new ArrayList<>();
        rows.forEach(row -> ids.add(memoryOf.apply(row).get("id").asText()));
        return ids;
    }

    private static String encode(String json) {
        return java.net.URLEncoder.encode(json, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }
}
