package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A parameter (or a body) the answer would not heed is refused (400 naming it), not dropped: a client that sent
 * it meant something by it, and an answer that ignores it looks like one that did not.
 */
class UnheededParametersTest {
    private final Api api = TestServer.newApp();
    private final String user = Fixtures.user(api, "u-" + System.nanoTime());
    private final String character = Fixtures.character(api, "Mira");
    private final String conversation = Fixtures.conversation(api, user, character);
    private final String memories = "/v1/users/" + user + "/memories";

    @Test
    void a_search_cursor_continues_only_the_search_that_gave_it() {
        for (int i = 0; i < 3; i++) {
            Fixtures.say(api, conversation, "user", "garden and pizza, note " + i);
        }
        String search = "/v1/search/messages?q=garden&user_id=" + user + "&limit=1";
        String cursor = api.getOk(search).get("next_cursor").asText();

        assertThat(api.get(search + "&cursor=" + cursor).status()).as("the same search").isEqualTo(200);
        assertThat(api.get(search + "&language=english&cursor=" + cursor).status())
                .as("the same search, its default language named").isEqualTo(200);
        for (String other : List.of("/v1/search/messages?q=pizza&user_id=" + user + "&limit=1",
                search + "&order=recent", search + "&language=simple", search + "&include_archived=true",
                "/v1/search/messages?q=garden&conversation_id=" + conversation + "&limit=1")) {
            var answer = api.get(other + "&cursor=" + cursor);
            assertThat(answer.status()).as(other).isEqualTo(400);
            assertThat(fieldOf(answer)).as(other).isEqualTo("cursor");
            assertThat(answer.json().get("detail").asText()).contains("continues another search",
                    "an earlier version of Parley", "start again from the first page");
        }
    }

    @Test
    void a_memory_listing_refuses_a_cursor_by_relevance_and_a_language_without_words() {
        api.postOk(201, memories, Map.of("character_id", character, "content", "likes first snow"));
        String list = memories + "?character_id=" + character;
        String cursor = api.getOk(list + "&limit=1").get("next_cursor").asText();

        var byRelevance = api.get(list + "&q=snow&cursor=" + cursor);
        var language = api.get(list + "&language=english");

        assertThat(byRelevance.status()).isEqualTo(400);
        assertThat(fieldOf(byRelevance)).isEqualTo("cursor");
        assertThat(language.status()).isEqualTo(400);
        assertThat(fieldOf(language)).isEqualTo("language");
        assertThat(api.get(list + "&q=snow&language=english").status()).as("with q, a language is heeded").isEqualTo(200);
    }

    @Test
    void a_context_chooses_memories_one_way_and_a_count_needs_a_way() {
        String context = "/v1/conversations/" + conversation + "/context";

        assertThat(fieldOf(api.get(context + "?memories=3"))).isEqualTo("memories");
        assertThat(fieldOf(api.post(context, Map.of("memories", 3)))).isEqualTo("memories");
        assertThat(fieldOf(api.post(context, Map.of("memory_embedding", List.of(1.0, 0.0), "memory_query", "snow"))))
                .isEqualTo("memory_query");
        assertThat(fieldOf(api.get(context + "?memory_query=%20%20"))).isEqualTo("memory_query");
        assertThat(api.get(context + "?memories=3&memory_query=snow").status()).isEqualTo(200);
        assertThat(api.post(context, Map.of("memory_embedding", List.of(1.0, 0.0), "memories", 3)).status()).isEqualTo(200);
    }

    @Test
    void a_recall_names_a_character_and_a_conversation_that_are_there() {
        String strangers = Fixtures.conversation(api, Fixtures.user(api, "other-" + System.nanoTime()), character);
        Map<String, Object> query = Map.of("character_id", character, "embedding", List.of(1.0, 0.0));

        var unknownCharacter = api.post(memories + "/recall", Map.of("character_id", "987654321", "embedding", List.of(1.0, 0.0)));
        var notTheUsers = api.post(memories + "/recall", with(query, "conversation_id", strangers));
        var unknownConversation = api.post(memories + "/recall", with(query, "conversation_id", "987654321"));

        assertThat(unknownCharacter.status()).isEqualTo(400);
        assertThat(fieldOf(unknownCharacter)).isEqualTo("character_id");
        assertThat(fieldOf(notTheUsers)).isEqualTo("conversation_id");
        assertThat(fieldOf(unknownConversation)).isEqualTo("conversation_id");
        assertThat(api.post(memories + "/recall", with(query, "conversation_id", conversation)).status()).isEqualTo(200);
    }

    @Test
    void a_scope_whose_last_embedded_memory_is_deleted_takes_another_models_embeddings() {
        String first = api.postOk(201, memories, Map.of("character_id", character, "content", "likes first snow",
                "embedding", List.of(1.0, 0.0, 0.0))).get("id").asText();
        api.postOk(201, memories, Map.of("character_id", character, "content", "no embedding"));
        var longerWhileHeld = api.post(memories, Map.of("character_id", character, "content", "x", "embedding", List.of(1.0, 0.0)));

        assertThat(api.delete("/v1/memories/" + first).status()).isEqualTo(204);
        var longerAfter = api.post(memories, Map.of("character_id", character, "content", "keeps a diary",
                "embedding", List.of(0.0, 1.0)));

        assertThat(longerWhileHeld.status()).as("3 dimensions held").isEqualTo(400);
        assertThat(longerAfter.status()).as(longerAfter.toString()).isEqualTo(201);
        var recalled = api.postOk(200, memories + "/recall", Map.of("character_id", character, "embedding", List.of(0.0, 1.0)));
        assertThat(recalled.get("memories")).extracting(m -> m.get("memory").get("content").asText()).containsExactly("keeps a diary");
    }

    @Test
    void a_null_embedding_in_a_memory_patch_is_refused_not_read_as_keep_it() {
        String memory = api.postOk(201, memories, Map.of("character_id", character, "content", "likes first snow",
                "embedding", List.of(1.0, 0.0))).get("id").asText();

        var removal = api.patch("/v1/memories/" + memory, "{\"content\": \"likes snow\", \"embedding\": null}");

        assertThat(fieldOf(removal)).isEqualTo("embedding");
        assertThat(api.getOk("/v1/memories/" + memory).get("content").asText()).as("nothing changed").isEqualTo("likes first snow");
        assertThat(api.getOk("/v1/memories/" + memory).get("dims").asInt()).isEqualTo(2);
    }

    @Test
    void a_body_sent_to_a_route_that_reads_none_is_refused_and_changes_nothing() {
        String message = Fixtures.say(api, conversation, "user", "hello").get("id").asText();
        String path = "/v1/conversations/" + conversation + "/messages/" + message;
        byte[] body = "{\"hard\": true}".getBytes(java.nio.charset.StandardCharsets.UTF_8);

        var warm = api.sendBytes("POST", "/v1/users/" + user + "/warm", body);
        var delete = api.sendBytes("DELETE", path, body);

        assertThat(warm.status()).as(warm.toString()).isEqualTo(400);
        assertThat(warm.json().get("detail").asText()).contains("takes no body");
        assertThat(delete.status()).isEqualTo(400);
        assertThat(api.getOk(path).get("deleted_at").isNull()).as("the message is still there").isTrue();
        assertThat(api.sendBytes("POST", "/v1/users/" + user + "/warm", null).status()).as("without a body").isLessThan(300);
    }

    private static Map<String, Object> with(Map<String, Object> body, String field, Object value) {
        var more = new java.util.HashMap<>(body);
        more.put(field, value);
        return more;
    }

    private static String fieldOf(Api.Response response) {
        assertThat(response.status()).as(response.toString()).isEqualTo(400);
        return response.json().get("errors").get(0).get("field").asText();
    }
}
