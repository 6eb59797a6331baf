package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConcurrentAppendTest {
    private final Api api = TestServer.newApp();

    @Test
    void fifty_concurrent_appends_get_distinct_gap_free_sequence_numbers() throws Exception {
        String id = Fixtures.conversation(api).get("id").asText();
        var start = new CountDownLatch(1);
        List<Future<JsonNode>> results = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 50; i++) {
                int n = i;
                results.add(pool.submit(() -> {
                    start.await();
                    return api.postOk(201, "/v1/conversations/" + id + "/messages", Map.of("content", "m" + n));
                }));
            }
            start.countDown();
            TreeSet<Long> seqs = new TreeSet<>();
            JsonNode newest = null;
            for (Future<JsonNode> result : results) {
                JsonNode message = result.get();
                seqs.add(message.get("seq").asLong());
                if (newest == null || message.get("seq").asLong() > newest.get("seq").asLong()) {
                    newest = message;
                }
            }

            assertThat(seqs).containsExactlyElementsOf(LongStream.rangeClosed(1, 50).boxed().toList());
            JsonNode conversation = api.getOk("/v1/conversations/" + id);
            assertThat(conversation.get("last_seq").asLong()).isEqualTo(50);
            assertThat(conversation.get("message_count").asLong()).isEqualTo(50);
            assertThat(conversation.get("last_message").get("id")).isEqualTo(newest.get("id"));
            JsonNode history = api.getOk("/v1/conversations/" + id + "/messages?limit=50");
            List<Long> order = new ArrayList<>();
            history.get("messages").forEach(m -> order.add(m.get("seq").asLong()));
            assertThat(order).as("ids order messages as their sequence numbers do").isSorted().hasSize(50);
        }
    }

    /**
     * N clients append to a few shared conversations, each message under an Idempotency-Key and each
     * request sent twice, as a client does whose first answer was lost: every message is stored once,
     * each conversation's sequence has no gap, and its pointer, count and unread count are exact.
     */
    @ParameterizedTest
    @ValueSource(ints = {8, 32})
    void concurrent_clients_that_retry_every_append_store_each_message_once(int clients) throws Exception {
        int conversations = 4;
        int perClient = 6;
        List<String> ids = new ArrayList<>();
        List<String> users = new ArrayList<>();
        for (int i = 0; i < conversations; i++) {
            JsonNode conversation = Fixtures.conversation(api);
            ids.add(conversation.get("id").asText());
            users.add(conversation.get("user_id").asText());
        }
        var start = new CountDownLatch(1);
        List<Future<List<JsonNode>>> sent = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                int client = c;
                sent.add(pool.submit(() -> {
                    start.await();
                    List<JsonNode> answers = new ArrayList<>();
                    for (int m = 0; m < perClient; m++) {
                        String path = "/v1/conversations/" + ids.get((client + m) % conversations) + "/messages";
                        var body = Map.of("role", m % 2 == 0 ? "user" : "assistant", "content", "client " + client + " message " + m);
                        String key = "client-" + client + "-" + m;
                        JsonNode first = api.postOk(201, path, body, "Idempotency-Key", key);
                        JsonNode again = api.post(path, body, "Idempotency-Key", key).json();
                        assertThat(again.get("id")).as("the retry answers with the stored message").isEqualTo(first.get("id"));
                        answers.add(first);
                    }
                    return answers;
                }));
            }
            start.countDown();
            Map<String, TreeSet<Long>> seqs = new java.util.HashMap<>();
            for (Future<List<JsonNode>> answers : sent) {
                for (JsonNode message : answers.get()) {
                    seqs.computeIfAbsent(message.get("conversation_id").asText(), k -> new TreeSet<>()).add(message.get("seq").asLong());
                }
            }

            int expected = clients * perClient / conversations;
            for (int i = 0; i < conversations; i++) {
                String id = ids.get(i);
                assertThat(seqs.get(id)).as("one gap-free sequence for " + id)
                        .containsExactlyElementsOf(LongStream.rangeClosed(1, expected).boxed().toList());
                JsonNode conversation = api.getOk("/v1/conversations/" + id);
                assertThat(conversation.get("last_seq").asLong()).isEqualTo(expected);
                assertThat(conversation.get("message_count").asLong()).isEqualTo(expected);
                JsonNode history = api.getOk("/v1/conversations/" + id + "/messages?limit=200").get("messages");
                assertThat(history).as("each message stored once").hasSize(expected);
                assertThat(conversation.get("last_message").get("id")).isEqualTo(history.get(history.size() - 1).get("id"));
                long lastUserSeq = 0;
                for (JsonNode message : history) {
                    if (message.get("role").asText().equals("user")) {
                        lastUserSeq = Math.max(lastUserSeq, message.get("seq").asLong());
                    }
                }
                JsonNode inbox = api.getOk("/v1/users/" + users.get(i) + "/inbox").get("conversations").get(0);
                assertThat(inbox.get("unread_count").asLong()).as("unread: what came after the user's own last message")
                        .isEqualTo(expected - lastUserSeq);
            }
        }
    }

    @Test
    void concurrent_appends_to_many_conversations_all_commit() throws Exception {
        List<String> conversations = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            conversations.add(Fixtures.conversation(api).get("id").asText());
        }
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String id = conversations.get(i % 10);
                done.add(pool.submit(() -> api.postOk(201, "/v1/conversations/" + id + "/messages", Map.of("content", "x"))));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        for (String id : conversations) {
            assertThat(api.getOk("/v1/conversations/" + id).get("last_seq").asLong()).isEqualTo(20);
        }
    }
}
