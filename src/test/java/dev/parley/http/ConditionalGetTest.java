package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every GET of a resource or page, cached or not, carries an ETag and {@code Cache-Control: private},
 * and a client that sends the ETag back is told 304 with no body; a gzipped body's ETag is weak,
 * since the same content then travels as other bytes.
 */
class ConditionalGetTest {
    private final Api api = TestServer.newApp();
    private final String character = Fixtures.character(api, "Luna");
    private final String user = Fixtures.user(api, "etag-" + System.nanoTime());
    private final String conversation = Fixtures.conversation(api, user, character);
    private final String message = Fixtures.say(api, conversation, "user", "stars over the harbour").get("id").asText();
    private final String memory = api.postOk(201, "/v1/users/" + user + "/memories", Map.of("character_id", character,
            "content", "likes the harbour at night", "embedding", List.of(1.0, 0.0))).get("id").asText();

    /** One request for each GET route of the API, by its path template. */
    private Map<String, String> everyGet() {
        String c = "/v1/conversations/" + conversation;
        return Map.ofEntries(
                Map.entry("/v1/characters", "/v1/characters?limit=5"),
                Map.entry("/v1/characters/{character_id}", "/v1/characters/" + character),
                Map.entry("/v1/characters/{character_id}/messages", "/v1/characters/" + character + "/messages"),
                Map.entry("/v1/characters/{character_id}/stats", "/v1/characters/" + character + "/stats?window=1h"),
                Map.entry("/v1/users", "/v1/users?external_id=" + api.getOk("/v1/users/" + user).get("external_id").asText()),
                Map.entry("/v1/users/{user_id}", "/v1/users/" + user),
                Map.entry("/v1/users/{user_id}/inbox", "/v1/users/" + user + "/inbox"),
                Map.entry("/v1/users/{user_id}/stats", "/v1/users/" + user + "/stats"),
                Map.entry("/v1/users/{user_id}/presence", "/v1/users/" + user + "/presence"),
                Map.entry("/v1/users/{user_id}/rank", "/v1/users/" + user + "/rank?counter=xp"),
                Map.entry("/v1/leaderboard", "/v1/leaderboard?counter=xp"),
                Map.entry("/v1/users/{user_id}/memories", "/v1/users/" + user + "/memories?character_id=" + character),
                Map.entry("/v1/conversations", "/v1/conversations?character_id=" + character),
                Map.entry("/v1/conversations/{conversation_id}", c),
                Map.entry("/v1/conversations/{conversation_id}/context", c + "/context"),
                Map.entry("/v1/conversations/{conversation_id}/stats", c + "/stats"),
                Map.entry("/v1/conversations/{conversation_id}/members", c + "/members"),
                Map.entry("/v1/conversations/{conversation_id}/typing", c + "/typing"),
                Map.entry("/v1/conversations/{conversation_id}/messages", c + "/messages?limit=10"),
                Map.entry("/v1/conversations/{conversation_id}/messages/{message_id}", c + "/messages/" + message),
                Map.entry("/v1/conversations/{conversation_id}/messages/{message_id}/replies", c + "/messages/" + message + "/replies"),
                Map.entry("/v1/memories/{memory_id}", "/v1/memories/" + memory),
                Map.entry("/v1/search/messages", "/v1/search/messages?q=harbour&user_id=" + user),
                Map.entry("/v1/search/memories", "/v1/search/memories?q=harbour&user_id=" + user),
                Map.entry("/v1/stats", "/v1/stats"),
                Map.entry("/v1/retention", "/v1/retention"),
                Map.entry("/v1/analytics/characters/messages", "/v1/analytics/characters/messages"),
                Map.entry("/v1/analytics/users/daily-active", "/v1/analytics/users/daily-active"),
                Map.entry("/v1/analytics/users/monthly-active", "/v1/analytics/users/monthly-active"),
                Map.entry("/v1/analytics/conversations/started", "/v1/analytics/conversations/started"),
                Map.entry("/v1/analytics/conversations/{conversation_id}/roles", "/v1/analytics/conversations/" + conversation + "/roles"),
                Map.entry("/v1/stats/messages", "/v1/stats/messages?window=1m"));
    }

    @Test
    void every_get_of_the_api_is_covered_here() {
        Set<String> documented = new HashSet<>();
        api.getOk("/openapi.json").get("paths").properties().forEach(path -> {
            if (path.getKey().startsWith("/v1/") && path.getValue().has("get")) {
                documented.add(path.getKey());
            }
        });

        documented.remove("/v1/users/{user_id}/export"); // personal data, streamed: no-store, never a cached copy (ErasureApiTest)
        assertThat(everyGet().keySet()).as("a GET route added to the API belongs in everyGet()").isEqualTo(documented);
    }

    @Test
    void every_get_carries_an_etag_that_earns_a_304_while_the_resource_is_unchanged() {
        everyGet().forEach((route, request) -> {
            Api.Response first;
            Api.Response again;
            int tries = 0;
            do { // /v1/stats apportions months' bytes by estimates, which other tests' writes move: asked again if it changed
                first = api.get(request);
                assertThat(first.status()).as(request + ": " + first.text()).isEqualTo(200);
                again = api.sendBytes("GET", request, null, "If-None-Match", first.header("ETag"));
            } while (changedBetween(first, again) && ++tries < 5);
            String etag = first.header("ETag");
            assertThat(etag).as(route).matches("\"[A-Za-z0-9_-]{22}\"");
            assertThat(first.header("Cache-Control")).as(route).isEqualTo("private");
            assertThat(again.status()).as(route).isEqualTo(304);
            assertThat(again.raw().body()).as(route).isEmpty();
            assertThat(again.header("ETag")).as(route).isEqualTo(etag);
            assertThat(api.sendBytes("GET", request, null, "If-None-Match", "\"some-other-version\"").status()).as(route)
                    .isEqualTo(200);
        });
    }

    /** A 200 with another ETag: the resource changed between the two GETs (a 200 with the same one is a failure). */
    private static boolean changedBetween(Api.Response first, Api.Response again) {
        return again.status() == 200 && !first.header("ETag").equals(again.header("ETag"));
    }

    @Test
    void a_changed_page_gets_a_new_etag_and_its_body() {
        String search = "/v1/search/messages?q=harbour&user_id=" + user;
        String etag = api.get(search).header("ETag");

        Fixtures.say(api, conversation, "assistant", "the harbour lights are on");
        Api.Response changed = api.sendBytes("GET", search, null, "If-None-Match", etag);

        assertThat(changed.status()).isEqualTo(200);
        assertThat(changed.header("ETag")).isNotEqualTo(etag);
        assertThat(changed.json().get("hits")).hasSize(2);
    }

    @Test
    void a_gzipped_body_has_a_weak_etag_that_still_earns_a_304() {
        for (int i = 0; i < 30; i++) {
            Fixtures.say(api, conversation, "user", "a line long enough to make the page worth compressing, number " + i);
        }
        String history = "/v1/conversations/" + conversation + "/messages?limit=30";
        Api.Response plain = api.get(history);
        Api.Response zipped = api.sendBytes("GET", history, null, "Accept-Encoding", "gzip");

        assertThat(zipped.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(zipped.header("Vary")).isEqualTo("Accept-Encoding");
        assertThat(zipped.header("ETag")).isEqualTo("W/" + plain.header("ETag"));
        assertThat(api.sendBytes("GET", history, null, "Accept-Encoding", "gzip", "If-None-Match", zipped.header("ETag"))
                .status()).isEqualTo(304);
        JsonNode messages = plain.json().get("messages");
        assertThat(messages).hasSize(30);
    }

    @Test
    void a_304_carries_the_etag_vary_and_cache_control_its_200_would_and_no_content_length() {
        for (int i = 0; i < 30; i++) {
            Fixtures.say(api, conversation, "user", "a line long enough to make the page worth compressing, number " + i);
        }
        String c = "/v1/conversations/" + conversation + "/messages";
        for (String page : List.of(c, c + "?limit=30")) { // the latest page, cached, and one read each time
            for (List<String> encoding : List.of(List.of("Accept-Encoding", "gzip"), List.of("Accept-Encoding", "identity"))) {
                Api.Response ok = api.sendBytes("GET", page, null, encoding.toArray(String[]::new));
                Api.Response notModified = api.sendBytes("GET", page, null, encoding.get(0), encoding.get(1),
                        "If-None-Match", ok.header("ETag"));

                assertThat(notModified.status()).as(page + " " + encoding).isEqualTo(304);
                for (String header : List.of("ETag", "Vary", "Cache-Control")) {
                    assertThat(notModified.header(header)).as(page + " " + encoding + ": " + header).isNotNull()
                            .isEqualTo(ok.header(header));
                }
                assertThat(notModified.raw().headers().firstValue("Content-Length")).as(page + " " + encoding).isEmpty();
                assertThat(notModified.header("Content-Encoding")).isNull();
                assertThat(notModified.header("Content-Type")).as("no body to describe").isNull();
            }
        }
        var deleted = api.sendBytes("DELETE", c + "/" + Fixtures.say(api, conversation, "user", "gone").get("id").asText() + "?hard=true", null);
        assertThat(deleted.status()).isEqualTo(204);
        assertThat(deleted.header("Content-Type")).as("a 204 has no body to describe").isNull();
    }
}
