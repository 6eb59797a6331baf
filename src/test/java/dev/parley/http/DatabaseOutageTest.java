package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.config.Settings;
import dev.parley.db.LocalPostgres;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.Ports;
import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL goes away and comes back. Meanwhile every request, appends included, answers 503 with
 * Retry-After within the pool timeout, liveness stays up and readiness goes down; afterwards
 * requests work again by themselves and no acknowledged write is lost or doubled.
 */
class DatabaseOutageTest {
    private static final Duration POOL_TIMEOUT = Duration.ofSeconds(2);
    /** The pool timeout, and room for a loaded two-core machine to answer. */
    private static final Duration ANSWER_BOUND = POOL_TIMEOUT.plusMillis(1500);

    /** One request as a client saw it: what came back and how long it took. */
    private record Timed(Api.Response response, Duration took) {
    }

    @Test
    void while_the_database_is_down_every_request_fails_fast_and_afterwards_all_recovers(@TempDir Path dataDir) throws Exception {
        int port = Ports.free();
        LocalPostgres database = LocalPostgres.startOrAttach(dataDir, Map.of(), port);
        Settings settings = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "0", "PARLEY_ADMIN_PORT", "0",
                "PARLEY_POOL_TIMEOUT", POOL_TIMEOUT.toMillis() + "ms", "PARLEY_POOL_SIZE", "4"));
        try (Parley parley = Parley.start(settings, database.target(), true, Clock.systemUTC())) {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("outage").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            String messages = "/v1/conversations/" + conversation + "/messages";
            JsonNode acknowledged = Fixtures.say(api, conversation, "user", "before the outage");

            database.close();
            List<CompletableFuture<Timed>> during = new ArrayList<>();
            for (int i = 0; i < 8; i++) { // eight clients append and eight read, all at once
                String key = "during-" + i;
                during.add(CompletableFuture.supplyAsync(() -> timed(() -> api.post(messages, Map.of("content", key),
                        "Idempotency-Key", key))));
                during.add(CompletableFuture.supplyAsync(() -> timed(() -> api.get(messages))));
            }
            for (var request : during) {
                Timed answer = request.get();
                assertThat(answer.response().status()).as(answer.response().toString()).isEqualTo(503);
                assertThat(answer.response().isProblem()).isTrue();
                assertThat(answer.response().header("Retry-After")).as(answer.response().toString()).isEqualTo("1");
                assertThat(answer.took()).as("answered within the pool timeout").isLessThan(ANSWER_BOUND);
            }
            Timed later = timed(() -> api.get(messages));
            assertThat(later.response().json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(later.took()).as("once the outage is known, without waiting on the pool").isLessThan(POOL_TIMEOUT.dividedBy(2));
            assertThat(api.get("/health/live").status()).isEqualTo(200);
            assertThat(api.get("/health/ready").status()).isEqualTo(503);

            database = LocalPostgres.startOrAttach(dataDir, Map.of(), port);
            Wait.until("the first append after the restart to succeed", Duration.ofSeconds(30), () -> {
                var retry = api.post(messages, Map.of("content", "during-0"), "Idempotency-Key", "during-0");
                assertThat(retry.status()).as("never a 500 while reconnecting: " + retry).isIn(201, 503);
                return retry.status() == 201;
            });
            assertThat(api.get("/health/ready").status()).isEqualTo(200);
            assertThat(api.post(messages, Map.of("content", "during-0"), "Idempotency-Key", "during-0").status())
                    .as("the retry is a replay, not a second message").isEqualTo(200);
            assertThat(api.getOk(messages).get("messages")).extracting(m -> m.get("content").asText())
                    .containsExactly(acknowledged.get("content").asText(), "during-0");
        } finally {
            database.close();
        }
    }

    @Test
    void a_request_refused_before_routing_while_the_database_is_down_is_counted_under_its_route() {
        try (RoundTrips line = RoundTrips.to(TestDatabase.get().migrated("parley_outage_route"));
             Parley parley = TestServer.startOn(line.target(), Map.of())) {
            // A key never used yet: its lookup needs the database, so the request is refused before any route runs.
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("refused").apiKey());
            line.stall();
            Wait.until("the outage to be known", Duration.ofSeconds(10), () -> api.get("/health/ready").status() == 503);
            var refused = api.get("/v1/conversations/1/messages");
            String metrics = TestServer.metrics(parley);
            line.resume();

            assertThat(refused.status()).as(refused.toString()).isEqualTo(503);
            assertThat(refused.json().get("type").asText()).endsWith("/database-unavailable");
            assertThat(metrics).containsPattern("parley_http_responses_total\\{method=\"GET\","
                            + "route=\"/v1/conversations/\\{conversation_id}/messages\",status=\"503\"} 1.0")
                    .doesNotContainPattern("route=\"unmatched\",status=\"503\"");
        }
    }

    @Test
    void a_database_slower_to_give_a_first_connection_than_the_pool_timeout_still_starts() {
        try (RoundTrips line = RoundTrips.to(TestDatabase.get().migrated("parley_slow_start"))) {
            // As a database just started on a busy host, or one with hundreds of partitions to plan against, answers:
            // each connection takes longer to make than a request waits for one (250 ms).
            line.delayNewConnections(600);
            try (Parley parley = TestServer.startOn(line.target(), Map.of("PARLEY_POOL_TIMEOUT", "250ms"))) {
                line.delayNewConnections(0);
                var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("slow-start").apiKey());

                var made = api.post("/v1/characters", Map.of("name", "Luna"));
                assertThat(made.status()).as(made.toString()).isEqualTo(201);
            }
        }
    }

    /** A first deployment's usual mistakes: waiting would not mend them, so the start fails at once, saying which. */
    @Test
    void a_start_on_a_database_that_does_not_exist_or_a_role_it_refuses_fails_at_once_naming_it() {
        var existing = TestDatabase.get().migrated("parley_known_database");
        var missing = new dev.parley.db.ConnectionTarget(existing.jdbcUrl().replace("parley_known_database", "parley_no_such_database"),
                existing.user(), existing.password());
        var stranger = new dev.parley.db.ConnectionTarget(existing.jdbcUrl(), "no_such_role", existing.password());

        for (var target : List.of(missing, stranger)) {
            long started = System.nanoTime();
            assertThatThrownBy(() -> TestServer.startOn(target, Map.of()).close()).as(target.toString())
                    .hasMessageMatching(".*(has no such database \\(3D000\\)|does not let user 'no_such_role' in \\(28000"
                            + "|refused the password of user 'no_such_role' \\(28P01\\)).*");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("not the minute a slow database is given")
                    .isLessThan(Duration.ofSeconds(20));
        }
    }

    private static Timed timed(java.util.function.Supplier<Api.Response> request) {
        long start = System.nanoTime();
        Api.Response response = request.get();
        return new Timed(response, Duration.ofNanos(System.nanoTime() - start));
    }

    @Test
    void a_killed_embedded_postgres_is_restarted_and_requests_succeed_again(@TempDir Path dataDir) throws Exception {
        ScheduledExecutorService supervision = Executors.newSingleThreadScheduledExecutor();
        Settings settings = Settings.resolve(Settings.Flags.none(),
                Map.of("PARLEY_PORT", "0", "PARLEY_POOL_TIMEOUT", "1s", "PARLEY_POOL_SIZE", "4", "PARLEY_ADMIN_PORT", "0"));
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
            Wait.until("the outage shows", Duration.ofSeconds(10), () -> api.get("/health").status() == 503);
            var during = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "after the kill"),
                    "Idempotency-Key", "after-1");
            held.countDown();
            List<Integer> statuses = new ArrayList<>();
            Duration back = Wait.until("a request succeeds again", Duration.ofSeconds(30), () -> {
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
