package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * A PATCH of a character, a user, a conversation, a message or a memory sent with {@code If-Match: <the
 * ETag a GET returned>} changes the document only if nobody changed it since: the second of two writers
 * who read the same version gets 412 and the first one's change stays.
 */
class ConditionalUpdateTest {
    private final Api api = TestServer.newApp();

    @Test
    void the_second_writer_with_a_stale_etag_gets_412_and_the_first_change_survives() {
        for (Resource resource : resources()) {
            String etag = api.get(resource.path()).header("ETag");

            Api.Response first = patch(resource.path(), resource.document(), "first", etag);
            Api.Response second = patch(resource.path(), resource.document(), "second", etag);

            assertThat(first.status()).as(resource + ": " + first).isEqualTo(200);
            assertThat(second.status()).as(resource + ": " + second).isEqualTo(412);
            assertThat(second.isProblem()).isTrue();
            assertThat(second.json().get("type").asText()).endsWith("/precondition-failed");
            assertThat(api.getOk(resource.path()).get(resource.document()).get("writer").asText()).as(resource.toString())
                    .isEqualTo("first");
        }
    }

    @Test
    void the_etag_a_patch_answers_with_allows_the_next_patch() {
        for (Resource resource : resources()) {
            String etag = api.get(resource.path()).header("ETag");
            Api.Response first = patch(resource.path(), resource.document(), "first", etag);

            Api.Response next = patch(resource.path(), resource.document(), "next", first.header("ETag"));

            assertThat(next.status()).as(resource + ": " + next).isEqualTo(200);
            assertThat(next.header("ETag")).isNotEqualTo(first.header("ETag"));
            assertThat(api.get(resource.path()).header("ETag")).as("what a GET sends now").isEqualTo(next.header("ETag"));
        }
    }

    @Test
    void the_weak_etag_of_a_gzipped_get_names_the_same_document() {
        for (Resource resource : resources()) {
            String weak = "W/" + api.get(resource.path()).header("ETag");

            assertThat(patch(resource.path(), resource.document(), "first", weak).status()).as(resource.toString()).isEqualTo(200);
            assertThat(patch(resource.path(), resource.document(), "second", weak).status()).as(resource.toString()).isEqualTo(412);
        }
    }

    @Test
    void of_writers_racing_with_one_etag_exactly_one_wins() throws Exception {
        String character = Fixtures.character(api, "Luna");
        String path = "/v1/characters/" + character;
        String etag = api.get(path).header("ETag");
        int writers = 8;
        var start = new CountDownLatch(1);
        List<Future<Integer>> statuses = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(writers)) {
            for (int i = 0; i < writers; i++) {
                String writer = "writer-" + i;
                statuses.add(pool.submit(() -> {
                    start.await();
                    return patch(path, "traits", writer, etag).status();
                }));
            }
            start.countDown();
            List<Integer> answered = new ArrayList<>();
            for (var status : statuses) {
                answered.add(status.get());
            }
            assertThat(answered).filteredOn(s -> s == 200).hasSize(1);
            assertThat(answered).filteredOn(s -> s == 412).hasSize(writers - 1);
        }
        assertThat(api.getOk(path).get("version").asLong()).isEqualTo(2);
    }

    @Test
    void without_if_match_or_with_a_star_a_patch_is_unconditional() {
        String path = "/v1/characters/" + Fixtures.character(api, "Luna");

        assertThat(patch(path, "traits", "a", null).status()).isEqualTo(200);
        assertThat(patch(path, "traits", "b", "*").status()).isEqualTo(200);
        assertThat(api.getOk(path).get("version").asLong()).isEqualTo(3);
    }

    @Test
    void an_etag_parley_never_made_gets_412_one_without_quotes_400_and_one_of_a_missing_row_404() {
        String path = "/v1/characters/" + Fixtures.character(api, "Luna");

        assertThat(patch(path, "traits", "a", "\"not-an-etag\"").status()).isEqualTo(412);
        assertThat(patch(path, "traits", "a", "\"a\", \"b\"").status()).isEqualTo(400);
        String unquoted = api.get(path).header("ETag").replace("\"", "");
        var refused = patch(path, "traits", "a", unquoted);
        assertThat(refused.status()).as("not an entity tag: the client's mistake, not someone else's write").isEqualTo(400);
        assertThat(refused.isProblem()).isTrue();
        assertThat(refused.json().get("detail").asText()).contains("If-Match").contains("quotes");
        assertThat(patch("/v1/characters/987654321", "traits", "a", api.get(path).header("ETag")).status()).isEqualTo(404);
        assertThat(api.getOk(path).get("version").asLong()).isEqualTo(1);
    }

    @Test
    void appends_and_counters_do_not_make_a_conversation_etag_stale_for_if_match() {
        String user = Fixtures.user(api, "if-match-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        String path = "/v1/conversations/" + conversation;
        String etag = api.get(path).header("ETag");

        Fixtures.say(api, conversation, "user", "hello");
        api.postOk(200, path + "/counters", Map.of("increments", Map.of("affection", 1)));

        assertThat(api.get(path).header("ETag")).as("the body changed: If-None-Match sees it").isNotEqualTo(etag);
        assertThat(patch(path, "state", "bot", etag).status()).as("the state did not change: If-Match passes").isEqualTo(200);
    }

    private record Resource(String path, String document) {
    }

    /** A document of each kind a PATCH changes: the versioned ones, and a message and a memory (tagged by their body). */
    private List<Resource> resources() {
        String user = Fixtures.user(api, "writers-" + System.nanoTime());
        String character = Fixtures.character(api, "Luna");
        String conversation = Fixtures.conversation(api, user, character);
        String message = Fixtures.say(api, conversation, "user", "hello").get("id").asText();
        String memory = api.postOk(201, "/v1/users/" + user + "/memories",
                Map.of("character_id", character, "content", "likes first snow")).get("id").asText();
        return List.of(new Resource("/v1/characters/" + character, "traits"),
                new Resource("/v1/users/" + user, "profile"),
                new Resource("/v1/conversations/" + conversation, "state"),
                new Resource("/v1/conversations/" + conversation + "/messages/" + message, "metadata"),
                new Resource("/v1/memories/" + memory, "metadata"));
    }

    private Api.Response patch(String path, String document, String writer, String ifMatch) {
        String body = "{\"" + document + "\": {\"writer\": \"" + writer + "\"}}";
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ifMatch == null ? api.sendBytes("PATCH", path, bytes)
                : api.sendBytes("PATCH", path, bytes, "If-Match", ifMatch);
    }
}
