package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.config.Settings;
import dev.parley.db.LocalPostgres;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.Wait;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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
        int port = freePort();
        LocalPostgres database = LocalPostgres.startOrAttach(dataDir, Map.of(), port);
        Settings settings = Settings.resolve(Settings.Flags.none(), Map.of("PARLEY_PORT", "0",
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

    private static Timed timed(java.util.function.Supplier<Api.Response> request) {
        long start = System.nanoTime();
        Api.Response response = request.get();
        return new Timed(response, Duration.ofNanos(System.nanoTime() - start));
    }

    private static int freePort() throws Exception {
        try (var socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
