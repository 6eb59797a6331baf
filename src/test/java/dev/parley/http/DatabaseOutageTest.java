package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.config.Settings;
import dev.parley.db.LocalPostgres;
import dev.parley.support.Api;
import dev.parley.support.Await;
import dev.parley.support.Fixtures;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostgreSQL goes away and comes back: requests fail fast and honestly meanwhile, then work again by themselves. */
class DatabaseOutageTest {
    @Test
    void a_database_restart_gives_503s_then_recovers_without_losing_acknowledged_writes(@TempDir Path dataDir) throws Exception {
        int port = freePort();
        LocalPostgres database = LocalPostgres.startOrAttach(dataDir, Map.of(), port);
        Settings settings = Settings.resolve(Settings.Flags.none(),
                Map.of("PARLEY_PORT", "0", "PARLEY_POOL_TIMEOUT", "1s", "PARLEY_POOL_SIZE", "4"));
        try (Parley parley = Parley.start(settings, database.target(), true, Clock.systemUTC())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("outage").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            JsonNode acknowledged = Fixtures.say(api, conversation, "user", "before the outage");

            database.close();
            long start = System.nanoTime();
            var during = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "during"),
                    "Idempotency-Key", "during-1");
            var health = api.get("/health");
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(during.status()).as(during.toString()).isEqualTo(503);
            assertThat(during.isProblem()).isTrue();
            assertThat(during.json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(health.status()).isEqualTo(503);
            assertThat(elapsedMillis).as("fails fast, within the pool timeout").isLessThan(10_000);

            database = LocalPostgres.startOrAttach(dataDir, Map.of(), port);
            Api.Response after = null;
            for (int i = 0; i < 60 && (after == null || after.status() != 201); i++) {
                after = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "during"),
                        "Idempotency-Key", "during-1");
                assertThat(after.status()).as("never a 500 while reconnecting: " + after).isIn(201, 503);
                if (after.status() != 201) {
                    Thread.sleep(250);
                }
            }
            assertThat(after.status()).isEqualTo(201);
            JsonNode history = api.getOk("/v1/conversations/" + conversation + "/messages");
            assertThat(history.get("messages")).extracting(m -> m.get("content").asText())
                    .containsExactly(acknowledged.get("content").asText(), "during");
        } finally {
            database.close();
        }
    }

    private static int freePort() throws Exception {
        try (var socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Test
    void a_killed_embedded_postgres_is_restarted_and_requests_succeed_again(@TempDir Path dataDir) throws Exception {
        ScheduledExecutorService supervision = Executors.newSingleThreadScheduledExecutor();
        Settings settings = Settings.resolve(Settings.Flags.none(),
                Map.of("PARLEY_PORT", "0", "PARLEY_POOL_TIMEOUT", "1s", "PARLEY_POOL_SIZE", "4"));
        try (LocalPostgres database = LocalPostgres.startOrAttach(dataDir, LocalPostgres.durable(), 0)
                .supervise(supervision, Clock.systemUTC());
             Parley parley = Parley.start(settings, database.target(), true, Clock.systemUTC())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("killed").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            Fixtures.say(api, conversation, "user", "before the kill");

            var held = new CountDownLatch(1); // the supervisor's only thread waits, so the outage lasts until it was seen
            supervision.execute(() -> awaitQuietly(held));
            ProcessHandle postmaster = ProcessHandle.of(postmasterPid(dataDir)).orElseThrow();
            postmaster.destroyForcibly(); // kill -9
            postmaster.onExit().get();
            Await.until("the outage shows", Duration.ofSeconds(10), () -> api.get("/health").status() == 503);
            var during = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "after the kill"),
                    "Idempotency-Key", "after-1");
            held.countDown();
            List<Integer> statuses = new ArrayList<>();
            Duration back = Await.until("a request succeeds again", Duration.ofSeconds(30), () -> {
                var append = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "after the kill"),
                        "Idempotency-Key", "after-1");
                statuses.add(append.status());
                return append.status() == 201;
            });

            assertThat(during.status()).as(during.toString()).isEqualTo(503);
            assertThat(during.json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(statuses).as("503 while PostgreSQL restarts, never a 500").allMatch(status -> status == 201 || status == 503);
            assertThat(back).as("restarted by Parley itself").isLessThan(Duration.ofSeconds(30));
            JsonNode history = api.getOk("/v1/conversations/" + conversation + "/messages");
            assertThat(history.get("messages")).extracting(m -> m.get("content").asText())
                    .containsExactly("before the kill", "after the kill");
        } finally {
            supervision.shutdownNow();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** PostgreSQL's lock file names the postmaster's pid on its first line. */
    private static long postmasterPid(Path dataDir) throws Exception {
        return Long.parseLong(Files.readAllLines(dataDir.resolve("pg/postmaster.pid")).getFirst().strip());
    }
}
