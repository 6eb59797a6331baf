package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.Parley;
import dev.parley.config.Settings;
import dev.parley.db.LocalPostgres;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
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
}
