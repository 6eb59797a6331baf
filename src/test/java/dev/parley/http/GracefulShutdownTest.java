package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.RawHttp;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class GracefulShutdownTest {
    private static final String DB = "parley_shutdown";

    @Test
    void an_append_in_flight_when_shutdown_begins_is_committed_and_answered() throws Exception {
        // The append waits on a row lock the test holds for as long as it needs: no lock budget cuts it short.
        Parley parley = TestServer.start(DB, Map.of("PARLEY_STATEMENT_TIMEOUT", "1m", "PARLEY_LOCK_TIMEOUT", "1m"));
        var created = parley.apps().create("shutdown");
        var api = new Api("http://127.0.0.1:" + parley.port(), created.apiKey());
        String conversation = Fixtures.conversation(api).get("id").asText();

        try (Connection blocker = TestDatabase.get().connect(DB); var keptOpen = new RawHttp(parley.port())) {
            assertThat(keptOpen.get("/health/ready").status()).isEqualTo(200);
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("SELECT 1 FROM conversations FOR UPDATE");
            var append = CompletableFuture.supplyAsync(() ->
                    api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", "in flight")));
            awaitLockWait(blocker);

            var shutdown = CompletableFuture.runAsync(parley::close);
            // A request on a connection opened before the drain is refused, and says so.
            var refusing = new AtomicReference<RawHttp.Response>();
            List<ILoggingEvent> lines = AccessLogTest.capture("parley.access", () -> {
                refusing.set(Wait.forValue("the drain to refuse new requests", Duration.ofSeconds(10),
                        () -> Optional.of(keptOpen.get("/health/ready")).filter(response -> response.status() == 503)));
                return null;
            });
            RawHttp.Response refused = refusing.get();
            assertThat(lines).filteredOn(line -> line.getFormattedMessage().contains(" 503 "))
                    .as("counted under the route it would have run").singleElement()
                    .extracting(line -> AccessLogTest.fields(line).get("route")).isEqualTo("/health/ready");
            assertThat(refused.headers()).containsEntry("retry-after", "1").containsEntry("connection", "close")
                    .containsEntry("content-type", "application/problem+json;charset=utf-8");
            assertThat(refused.body()).contains("/problems/shutting-down");
            assertThat(shutdown).as("waits for the request in flight").isNotDone();
            // The process still answers, so liveness says so (a restart would cut the drain short), and the admin port
            // still shows what the drain does.
            assertThat(api.get("/health/live").status()).isEqualTo(200);
            assertThat(new Api("http://127.0.0.1:" + parley.adminPort(), null).get("/metrics").status()).isEqualTo(200);
            blocker.rollback();

            assertThat(append.get().status()).isEqualTo(201);
            shutdown.get();
        }
        try (var check = TestDatabase.get().connect(DB); var rows = check.createStatement()
                .executeQuery("SELECT count(*) FROM messages WHERE content = 'in flight'")) {
            rows.next();
            assertThat(rows.getLong(1)).isEqualTo(1);
        }
        assertThatThrownBy(() -> api.get("/health")).as("no longer listening").isInstanceOf(java.io.UncheckedIOException.class);
    }

    /** Waits until some session is blocked on a row lock: the append has reached the database. */
    private static void awaitLockWait(Connection connection) {
        Wait.until("the append to reach the database", Duration.ofSeconds(5), () -> {
            return TestDatabase.lockWaits(connection, DB) > 0;
        });
    }
}
