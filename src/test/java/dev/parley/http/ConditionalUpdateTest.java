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

    /** A versioned document's If-Match is compared by version in SQL; the tag must still be this document's own. */
    @Test
    void another_documents_etag_at_the_same_version_or_a_made_up_one_passes_no_patch_or_delete() {
        List<Resource> versioned = resources().subList(0, 3); // a character, a user and a conversation, each at version 1
        List<Resource> others = resources().subList(0, 3);
        for (int i = 0; i < versioned.size(); i++) {
            Resource resource = versioned.get(i);
            String anothers = api.get(others.get(i).path()).header("ETag");
            String madeUp = "\"AAAAAAAAAAEAAAAAAAAAAA\""; // version 1, and nothing else of a tag Parley makes

            for (String tag : List.of(anothers, madeUp)) {
                var refused = patch(resource.path(), resource.document(), "wrong", tag);
                assertThat(refused.status()).as(resource + " " + tag).isEqualTo(412);
                assertThat(refused.json().get("detail").asText()).as("not 'at version 1, not the one If-Match names'")
                        .startsWith("the ETag If-Match names is not one of ").contains("an earlier version of Parley");
                assertThat(delete(resource.path(), tag).status()).as(resource + " " + tag).isEqualTo(412);
            }
            assertThat(api.getOk(resource.path()).get("version").asLong()).as("unchanged: " + resource).isEqualTo(1);
        }
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

    @Test
    void a_delete_with_a_stale_etag_deletes_nothing_and_one_with_the_current_etag_deletes() {
        for (Resource resource : resources().reversed()) { // a message and a memory before what erases them
            String read = api.get(resource.path()).header("ETag");
            String patched = patch(resource.path(), resource.document(), "first", read).header("ETag");

            Api.Response stale = delete(resource.path(), read);

            assertThat(stale.status()).as(resource + ": " + stale).isEqualTo(412);
            assertThat(stale.json().get("type").asText()).endsWith("/precondition-failed");
            assertThat(api.getOk(resource.path()).get(resource.document()).get("writer").asText()).as(resource.toString())
                    .isEqualTo("first");
            assertThat(delete(resource.path(), "\"AAAAAAAAAAAAAAAAAAAAAA\"").status()).as(resource.toString()).isEqualTo(412);

            Api.Response current = delete(resource.path(), "W/" + patched);
            assertThat(current.status()).as(resource + ": " + current).isIn(200, 204);
        }
    }

    @Test
    void a_delete_with_a_star_or_without_if_match_is_unconditional_and_a_retried_soft_delete_answers_200() {
        for (Resource resource : resources().reversed()) {
            assertThat(delete(resource.path(), "*").status()).as(resource.toString()).isIn(200, 204);
        }
        String user = Fixtures.user(api, "deleter-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        String message = "/v1/conversations/" + conversation + "/messages/" + Fixtures.say(api, conversation, "user", "hi").get("id").asText();
        String tag = api.get(message).header("ETag");

        Api.Response deleted = delete(message, tag);
        Api.Response retried = delete(message, tag);

        assertThat(deleted.status()).isEqualTo(200);
        assertThat(retried.status()).as("the retry of a delete whose answer was lost: " + retried).isEqualTo(200);
        assertThat(retried.json()).isEqualTo(deleted.json());
        assertThat(api.delete("/v1/users/" + user).status()).isEqualTo(200);
    }

    @Test
    void a_get_with_if_match_answers_only_while_it_names_the_current_etag() {
        String path = "/v1/characters/" + Fixtures.character(api, "Luna");
        String etag = api.get(path).header("ETag");

        assertThat(api.get(path, "If-Match", etag).status()).isEqualTo(200);
        assertThat(api.get(path, "If-Match", "*").status()).isEqualTo(200);
        patch(path, "traits", "first", null);
        Api.Response stale = api.get(path, "If-Match", etag);
        assertThat(stale.status()).as(stale.toString()).isEqualTo(412);
        assertThat(stale.json().get("type").asText()).endsWith("/precondition-failed");
    }

    @Test
    void a_route_that_cannot_evaluate_a_conditional_header_refuses_it_with_400_naming_it() {
        String user = Fixtures.user(api, "refused-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        String bogus = "\"bogus\"";
        List<Api.Response> refused = List.of(
                api.post("/v1/users", Map.of("external_id", "refused-" + System.nanoTime()), "If-Match", bogus),
                api.post("/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", 1)), "If-Match", bogus),
                api.post("/v1/conversations/" + conversation + "/counters", Map.of("increments", Map.of("xp", 1)), "If-Match", bogus),
                api.sendBytes("PUT", "/v1/retention", "{\"message_days\": 30}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        "If-Match", bogus),
                api.sendBytes("DELETE", "/v1/conversations/" + conversation + "/members/users/" + user, null, "If-Match", bogus),
                api.get("/v1/users/" + user + "/export", "If-Match", bogus));
        for (Api.Response response : refused) {
            assertThat(response.status()).as(response.toString()).isEqualTo(400);
            assertThat(response.json().get("errors").get(0).get("field").asText()).isEqualTo("If-Match");
        }
        assertThat(refused.getLast().json().get("detail").asText()).as("a read overwrites nothing").contains("reading a changed document");
        assertThat(api.getOk("/v1/retention").get("message_days").isNull()).as("the PUT changed nothing").isTrue();
        var ifNoneMatch = patch("/v1/users/" + user, "profile", "a", null, "If-None-Match", "*");
        assertThat(ifNoneMatch.status()).as(ifNoneMatch.toString()).isEqualTo(400);
        assertThat(ifNoneMatch.json().get("errors").get(0).get("field").asText()).isEqualTo("If-None-Match");
        var unmodifiedSince = api.sendBytes("DELETE", "/v1/users/" + user, null, "If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT");
        assertThat(unmodifiedSince.status()).as(unmodifiedSince.toString()).isEqualTo(400);
        assertThat(unmodifiedSince.json().get("errors").get(0).get("field").asText()).isEqualTo("If-Unmodified-Since");
        assertThat(api.get("/v1/users/" + user).status()).as("not erased").isEqualTo(200);
    }

    @Test
    void a_repeated_if_match_or_idempotency_key_is_refused_and_if_none_match_lines_are_one_list() {
        String path = "/v1/characters/" + Fixtures.character(api, "Luna");
        String etag = api.get(path).header("ETag");
        for (List<String> lines : List.of(List.of("*", "\"bogus\""), List.of("\"bogus\"", "*"), List.of(etag, etag))) {
            var twice = patch(path, "traits", "a", null, "If-Match", lines.get(0), "If-Match", lines.get(1));
            assertThat(twice.status()).as(lines + ": " + twice).isEqualTo(400);
            assertThat(twice.json().get("errors").get(0).get("field").asText()).isEqualTo("If-Match");
        }
        assertThat(api.getOk(path).get("version").asLong()).as("no PATCH applied").isEqualTo(1);

        String user = Fixtures.user(api, "keys-" + System.nanoTime());
        String conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        var keys = api.post("/v1/conversations/" + conversation + "/messages", Map.of("role", "user", "content", "hi"),
                "Idempotency-Key", "a1", "Idempotency-Key", "a2");
        assertThat(keys.status()).as(keys.toString()).isEqualTo(400);
        assertThat(keys.json().get("errors").get(0).get("field").asText()).isEqualTo("Idempotency-Key");
        assertThat(api.getOk("/v1/conversations/" + conversation + "/messages").get("messages")).isEmpty();

        assertThat(api.get(path, "If-None-Match", "\"bogus\"", "If-None-Match", etag).status()).isEqualTo(304);
    }

    /** Only the appends store an Idempotency-Key: on any other write a retry would count again, so the key is refused. */
    @Test
    void an_idempotency_key_on_a_route_that_does_not_honour_it_is_refused_and_nothing_is_written() {
        String user = Fixtures.user(api, "unkeyed-" + System.nanoTime());
        for (int attempt = 0; attempt < 2; attempt++) {
            var purchase = api.post("/v1/users/" + user + "/counters?durable=true", Map.of("increments", Map.of("gems", 100)),
                    "Idempotency-Key", "purchase-42");
            assertThat(purchase.status()).as(purchase.toString()).isEqualTo(400);
            assertThat(purchase.isProblem()).isTrue();
            assertThat(purchase.json().get("errors").get(0).get("field").asText()).isEqualTo("Idempotency-Key");
            assertThat(purchase.json().get("detail").asText()).contains("only by the message appends");
        }
        assertThat(api.getOk("/v1/users/" + user).get("counters").has("gems")).as("no purchase counted").isFalse();

        var character = api.post("/v1/characters", Map.of("name", "Twice"), "Idempotency-Key", "c-1");
        assertThat(character.status()).as(character.toString()).isEqualTo(400);
        assertThat(api.get("/v1/users/" + user, "Idempotency-Key", "r-1").status()).isEqualTo(400);

        String conversation = Fixtures.conversation(api, user, Fixtures.character(api, "Luna"));
        assertThat(api.post("/v1/conversations/" + conversation + "/messages", Map.of("role", "user", "content", "hi"),
                "Idempotency-Key", "m-1").status()).as("an append honours it").isEqualTo(201);
    }

    private Api.Response delete(String path, String ifMatch) {
        return api.sendBytes("DELETE", path, null, "If-Match", ifMatch);
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

    private Api.Response patch(String path, String document, String writer, String ifMatch, String... headers) {
        String body = "{\"" + document + "\": {\"writer\": \"" + writer + "\"}}";
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        List<String> all = new ArrayList<>(List.of(headers));
        if (ifMatch != null) {
            all.addAll(List.of("If-Match", ifMatch));
        }
        return api.sendBytes("PATCH", path, bytes, all.toArray(String[]::new));
    }
}
