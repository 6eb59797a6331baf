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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class PoolSaturationTest {
    private static final String DB = "parley_saturation";

    @Test
    void a_saturated_pool_answers_503_quickly_and_recovers_by_itself() throws Exception {
        // The patches wait on a row lock the test holds for as long as it needs: no lock budget cuts them short.
        try (Parley parley = TestServer.start(DB, Map.of("PARLEY_POOL_SIZE", "2", "PARLEY_POOL_TIMEOUT", "300ms",
                "PARLEY_STATEMENT_TIMEOUT", "1m", "PARLEY_LOCK_TIMEOUT", "1m"))) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("saturation").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            String character = Fixtures.character(api, "Free");

            try (Connection blocker = TestDatabase.get().connect(DB)) {
                blocker.setAutoCommit(false);
                blocker.createStatement().execute("SELECT 1 FROM conversations FOR UPDATE");
                // Two state patches wait on the row lock, each holding one of the pool's two connections.
                List<CompletableFuture<Api.Response>> holders = List.of(
                        CompletableFuture.supplyAsync(() -> api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("a", 1)))),
                        CompletableFuture.supplyAsync(() -> api.patch("/v1/conversations/" + conversation, Map.of("state", Map.of("b", 2)))));
                awaitLockWaits(blocker, 2);

                long start = System.nanoTime();
                var refused = api.get("/v1/characters/" + character);
                long waitedMillis = (System.nanoTime() - start) / 1_000_000;

                assertThat(refused.status()).isEqualTo(503);
                assertThat(refused.isProblem()).isTrue();
                assertThat(refused.json().get("type").asText()).endsWith("/pool-saturated");
                assertThat(refused.json().get("detail").asText()).contains("active=2");
                assertThat(refused.header("Retry-After")).isEqualTo("1");
                assertThat(waitedMillis).as("answered after the pool timeout, not hung").isLessThan(5_000);
                assertThat(TestServer.metrics(api)).contains("parley_pool_rejected_total{resource=\"connections\"} 1.0");

                blocker.rollback();
                for (var holder : holders) {
                    assertThat(holder.get().status()).isEqualTo(200);
                }
            }
            assertThat(api.get("/v1/characters/" + character).status()).isEqualTo(200);
            assertThat(api.getOk("/v1/conversations/" + conversation).get("state").size()).isEqualTo(2);
        }
    }

    @Test
    void an_append_no_writer_takes_in_time_is_answered_503_append_backlog_and_counted_as_a_rejection() throws Exception {
        // The one writer waits on a row lock the test holds for as long as it needs: no lock budget cuts it short.
        try (Parley parley = TestServer.start(DB, Map.of("PARLEY_APPEND_WRITERS", "1", "PARLEY_POOL_TIMEOUT", "1s",
                "PARLEY_STATEMENT_TIMEOUT", "1m", "PARLEY_LOCK_TIMEOUT", "1m"))) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("backlog").apiKey());
            String messages = "/v1/conversations/" + Fixtures.conversation(api).get("id").asText() + "/messages";

            try (Connection blocker = TestDatabase.get().connect(DB)) {
                blocker.setAutoCommit(false);
                blocker.createStatement().execute("SELECT 1 FROM conversations FOR UPDATE");
                var held = CompletableFuture.supplyAsync(() -> api.post(messages, Map.of("content", "held")));
                awaitLockWaits(blocker, 1);

                var refused = api.post(messages, Map.of("content", "no writer for it"));

                assertThat(refused.status()).as(refused.toString()).isEqualTo(503);
                assertThat(refused.json().get("type").asText()).endsWith("/append-backlog");
                assertThat(TestServer.metrics(api)).contains("parley_pool_rejected_total{resource=\"append_writers\"} 1.0")
                        .contains("parley_pool_rejected_total{resource=\"connections\"} 0.0");
                blocker.rollback();
                assertThat(held.get().status()).isEqualTo(201);
            }
        }
    }

    private static void awaitLockWaits(Connection connection, int sessions) {
        Wait.until("the requests to reach the database", Duration.ofSeconds(5), () -> {
            return TestDatabase.lockWaits(connection, DB) >= sessions;
        });
    }
}
