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
