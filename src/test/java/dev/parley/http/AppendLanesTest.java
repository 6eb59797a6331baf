package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A large batch (over 100 messages) is written by a writer of its own lane, on a thread of its own: while one waits on
 * its conversation's lock, another app's single message is written and answered. With one thread for both, the single
 * message waited for the batch and, past the pool timeout, was refused 503 append-backlog.
 */
class AppendLanesTest {
    @Test
    void a_single_append_is_answered_while_a_large_batch_of_another_app_waits_in_its_transaction() throws Exception {
        TestServer.get(); // the shared instance makes the database
        // A lock budget far past the pool timeout (2 s), so the batch is still waiting when the single append would give up.
        try (Parley parley = TestServer.alongside(TestServer.DATABASE, Map.of("PARLEY_LOCK_TIMEOUT", "10s"))) {
            var flooding = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("lanes-flood-" + System.nanoTime()).apiKey());
            var quiet = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("lanes-quiet-" + System.nanoTime()).apiKey());
            String held = Fixtures.conversation(flooding).get("id").asText();
            String chat = Fixtures.conversation(quiet).get("id").asText();
            List<Map<String, Object>> batch = new ArrayList<>();
            for (int i = 0; i < 101; i++) {
                batch.add(Map.of("role", "user", "content", "line " + i));
            }

            try (Connection holder = TestDatabase.get().connect(TestServer.DATABASE)) {
                holder.setAutoCommit(false);
                holder.createStatement().execute("SELECT 1 FROM conversations WHERE conversation_id = " + held + " FOR UPDATE");
                var large = CompletableFuture.supplyAsync(() -> flooding.post("/v1/conversations/" + held + "/messages/batch",
                        Map.of("messages", batch)));
                Wait.until("the batch to wait on the conversation's lock", Duration.ofSeconds(10), () -> waitsOnALock(holder));

                Api.Response single = quiet.post("/v1/conversations/" + chat + "/messages", Map.of("role", "user", "content", "hi"));

                assertThat(single.status()).as(single.toString()).isEqualTo(201);
                assertThat(large).as("the batch still waits for the lock").isNotDone();
                holder.rollback();
                assertThat(large.get().status()).as(large.get().toString()).isEqualTo(201);
            }
        }
    }

    private static boolean waitsOnALock(Connection connection) throws java.sql.SQLException {
        return TestDatabase.lockWaits(connection, TestServer.DATABASE) > 0;
    }
}
