package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** How response bodies travel: whole, with their length, gzipped only for a client that asks and a body worth it. */
class ResponsesTest {
    private final Api api = TestServer.newApp();
    private final String history = historyOfForty();

    @Test
    void a_json_response_carries_its_content_length_and_no_chunked_encoding() {
        var response = api.get(history);

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("Transfer-Encoding")).isNull();
        assertThat(response.header("Content-Length")).isEqualTo(String.valueOf(response.raw().body().length));
        assertThat(response.json().get("messages")).hasSize(40);
    }

    @Test
    void a_client_that_accepts_gzip_gets_the_same_document_gzipped() throws IOException {
        var plain = api.get(history);
        var gzipped = api.sendBytes("GET", history, null, "Accept-Encoding", "br, gzip;q=0.8");

        assertThat(gzipped.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(gzipped.header("Content-Length")).isEqualTo(String.valueOf(gzipped.raw().body().length));
        assertThat(gzipped.raw().body().length).isLessThan(plain.raw().body().length / 2);
        JsonNode unzipped = Json.MAPPER.readTree(new GZIPInputStream(new ByteArrayInputStream(gzipped.raw().body())));
        assertThat(unzipped).isEqualTo(plain.json());
    }

    @Test
    void a_cached_page_sent_gzipped_follows_its_changes() throws IOException {
        var before = api.sendBytes("GET", history, null, "Accept-Encoding", "gzip");
        var again = api.sendBytes("GET", history, null, "Accept-Encoding", "gzip");
        Fixtures.say(api, history.split("/")[3], "user", "one more");
        var after = api.sendBytes("GET", history, null, "Accept-Encoding", "gzip");

        assertThat(again.raw().body()).isEqualTo(before.raw().body());
        assertThat(unzipped(before).get("messages")).hasSize(40);
        JsonNode changed = unzipped(after);
        assertThat(changed.get("messages")).hasSize(41);
        assertThat(changed.get("messages").get(40).get("content").asText()).isEqualTo("one more");
        assertThat(changed).isEqualTo(api.get(history).json());
    }

    private static JsonNode unzipped(Api.Response gzipped) throws IOException {
        assertThat(gzipped.header("Content-Encoding")).isEqualTo("gzip");
        return Json.MAPPER.readTree(new GZIPInputStream(new ByteArrayInputStream(gzipped.raw().body())));
    }

    @Test
    void gzip_refused_with_q_zero_or_a_small_body_is_sent_plain() {
        var refused = api.sendBytes("GET", history, null, "Accept-Encoding", "gzip;q=0, identity");
        var small = api.sendBytes("GET", history + "?limit=1", null, "Accept-Encoding", "gzip");

        assertThat(refused.header("Content-Encoding")).isNull();
        assertThat(refused.json().get("messages")).hasSize(40);
        assertThat(small.raw().body().length).isLessThan(Responses.GZIP_FROM_BYTES);
        assertThat(small.header("Content-Encoding")).isNull();
    }

    @Test
    void characters_beyond_the_basic_plane_travel_as_their_four_utf8_bytes_not_as_escaped_surrogates() {
        String conversation = history.split("/")[3];
        String emoji = "good night \uD83C\uDF19\uD83D\uDE34"; // 🌙😴: a companion's every other message
        Fixtures.say(api, conversation, "assistant", emoji);
        var page = api.get(history); // read from the database
        var cached = api.get(history); // and as kept in the cache

        for (String body : List.of(api.post("/v1/conversations/" + conversation + "/messages",
                Map.of("role", "user", "content", emoji)).text(), page.text(), cached.text())) {
            assertThat(body).contains(emoji).doesNotContainIgnoringCase("\\ud83");
        }
        assertThat(page.json().get("messages").get(40).get("content").asText()).isEqualTo(emoji);
    }

    @Test
    void head_announces_the_length_of_the_body_it_does_not_send() {
        var get = api.get(history);
        var head = api.sendBytes("HEAD", history, null);

        assertThat(head.status()).isEqualTo(200);
        assertThat(head.raw().body()).isEmpty();
        assertThat(head.header("Content-Length")).isEqualTo(get.header("Content-Length"));
    }

    @Test
    void accept_encoding_is_read_as_a_list_of_codings_with_weights() {
        assertThat(Responses.acceptsGzip("gzip, deflate, br")).isTrue();
        assertThat(Responses.acceptsGzip("GZIP")).isTrue();
        assertThat(Responses.acceptsGzip("*")).isTrue();
        assertThat(Responses.acceptsGzip("gzip;q=0.001")).isTrue();
        assertThat(Responses.acceptsGzip(null)).isFalse();
        assertThat(Responses.acceptsGzip("identity")).isFalse();
        assertThat(Responses.acceptsGzip("x-gzip2")).isFalse();
        assertThat(Responses.acceptsGzip("gzip;q=0")).isFalse();
        assertThat(Responses.acceptsGzip("gzip; q=0.0")).isFalse();
        assertThat(Responses.acceptsGzip("gzip;q=nonsense")).isFalse();
    }

    @Test
    void every_body_that_may_be_gzipped_says_it_varies_by_accept_encoding() {
        var document = api.sendBytes("GET", "/openapi.json", null, "Accept-Encoding", "gzip");
        var bigProblem = api.sendBytes("GET", "/v1/characters?" + "z".repeat(3000) + "=1", null, "Accept-Encoding", "gzip");

        assertThat(document.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(document.raw().headers().allValues("Vary")).contains("Accept-Encoding");
        assertThat(bigProblem.status()).isEqualTo(400);
        if (bigProblem.header("Content-Encoding") != null) {
            assertThat(bigProblem.raw().headers().allValues("Vary")).as("a gzipped problem").contains("Accept-Encoding");
        }
    }

    @Test
    void a_weight_given_to_gzip_itself_wins_over_the_one_of_star() {
        assertThat(Responses.acceptsGzip("gzip;q=0, *")).isFalse();
        assertThat(Responses.acceptsGzip("*, gzip;q=0")).isFalse();
        assertThat(Responses.acceptsGzip("*;q=0, gzip")).isTrue();
        assertThat(Responses.acceptsGzip("br, *;q=0")).isFalse();
    }

    private String historyOfForty() {
        String conversation = Fixtures.conversation(api).get("id").asText();
        List<Map<String, String>> batch = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            batch.add(Map.of("role", i % 2 == 0 ? "user" : "assistant",
                    "content", "message " + i + " about the weather, the stars tonight and what we should cook"));
        }
        api.postOk(201, "/v1/conversations/" + conversation + "/messages/batch", Map.of("messages", batch));
        return "/v1/conversations/" + conversation + "/messages";
    }
}
