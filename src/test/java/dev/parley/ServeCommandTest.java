package dev.parley;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code parley serve} as an operator runs it: a separate process, stopped with SIGTERM. */
class ServeCommandTest {
    private static final Pattern URL = Pattern.compile("serving (http://[\\d.]+:\\d+)/v1");
    private static final Pattern KEY = Pattern.compile("(pk_[A-Za-z0-9_-]{43})");

    @Test
    void serve_prints_its_url_and_a_first_key_then_stops_cleanly_on_sigterm() throws Exception {
        TestDatabase.get().migrated("parley_serve");
        Path log = Files.createTempFile("parley-serve", ".log");
        Process serve = parley(log, "serve", "--port", "0", "--admin-port", "0", "--database-url", TestDatabase.get().url("parley_serve"));
        try {
            String output = awaitOutput(log, "Try: curl");
            Matcher url = URL.matcher(output);
            Matcher key = KEY.matcher(output);
            assertThat(url.find()).as("the API URL is printed: " + output).isTrue();
            assertThat(key.find()).as("a key for the default app is printed on first start").isTrue();
            assertThat(new Api(url.group(1), key.group(1)).get("/v1/characters").status()).isEqualTo(200);

            serve.destroy(); // SIGTERM
            assertThat(serve.waitFor(30, TimeUnit.SECONDS)).as("stops within the drain time").isTrue();
            assertThat(Files.readString(log)).as("the shutdown hook drained and closed everything").contains("Parley stopped");
            assertThat(serve.exitValue()).as("128 + SIGTERM, after the hook").isEqualTo(143);
        } finally {
            serve.destroyForcibly();
        }
    }

    @Test
    void sigterm_writes_the_counter_increments_held_in_memory_before_the_process_exits() throws Exception {
        String database = "parley_serve_counters";
        TestDatabase.get().migrated(database);
        Path log = Files.createTempFile("parley-serve", ".log");
        Process serve = parley(log, "serve", "--port", "0", "--admin-port", "0", "--database-url", TestDatabase.get().url(database),
                "--counter-flush-every", "1000000", "--counter-flush-after", "1h"); // nothing is written before the stop
        try {
            String output = awaitOutput(log, "Try: curl");
            Matcher url = URL.matcher(output);
            Matcher key = KEY.matcher(output);
            assertThat(url.find() && key.find()).as(output).isTrue();
            Api api = new Api(url.group(1), key.group(1));
            JsonNode conversation = Fixtures.conversation(api);
            String id = conversation.get("id").asText();
            String user = conversation.get("user_id").asText();
            int threads = 8;
            int each = 25;
            try (var clients = Executors.newFixedThreadPool(threads)) {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    done.add(clients.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            api.postOk(200, "/v1/conversations/" + id + "/counters", Map.of("increments", Map.of("affection", 1)));
                            api.postOk(200, "/v1/users/" + user + "/counters", Map.of("increments", Map.of("xp", 5)));
                        }
                    }));
                }
                for (Future<?> client : done) {
                    client.get();
                }
            }
            assertThat(storedCounters(database, "conversations", "conversation_id", id)).as("held in memory").isEqualTo("{}");

            serve.destroy(); // SIGTERM
            assertThat(serve.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(serve.exitValue()).isEqualTo(143);
            assertThat(storedCounters(database, "conversations", "conversation_id", id))
                    .isEqualTo("{\"affection\": " + threads * each + "}");
            assertThat(storedCounters(database, "users", "user_id", user)).isEqualTo("{\"xp\": " + 5 * threads * each + "}");
        } finally {
            serve.destroyForcibly();
        }
    }

    private static String storedCounters(String database, String table, String key, String id) throws SQLException {
        try (var connection = TestDatabase.get().connect(database);
             var query = connection.prepareStatement("SELECT counters FROM " + table + " WHERE " + key + " = ?")) {
            query.setLong(1, Long.parseLong(id));
            try (var rows = query.executeQuery()) {
                assertThat(rows.next()).isTrue();
                return rows.getString(1);
            }
        }
    }

    @Test
    void serve_refuses_a_database_with_pending_migrations_unless_told_to_migrate() throws Exception {
        TestDatabase.get().fresh("parley_serve_pending");
        Path log = Files.createTempFile("parley-serve", ".log");
        Process refused = parley(log, "serve", "--port", "0", "--admin-port", "0", "--database-url", TestDatabase.get().url("parley_serve_pending"));

        assertThat(refused.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(refused.exitValue()).isEqualTo(1);
        assertThat(Files.readString(log)).contains("pending").contains("parley migrate");
    }

    @Test
    void serve_exits_with_status_1_and_postgres_reason_when_the_embedded_port_is_taken(@TempDir Path dataDir) throws Exception {
        try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Path log = dataDir.resolve("serve.log");
            Process serve = parley(log, "serve", "--port", "0", "--admin-port", "0", "--data-dir", dataDir.toString(),
                    "--embedded-port", Integer.toString(taken.getLocalPort()));

            assertThat(serve.waitFor(60, TimeUnit.SECONDS)).as("gives up by itself").isTrue();
            assertThat(serve.exitValue()).isEqualTo(1);
            assertThat(Files.readString(log)).contains("Address already in use").contains(dataDir.resolve("postgres.log").toString());
        }
    }

    /**
     * A rolling upgrade on the embedded PostgreSQL: start a second instance on the data folder (it attaches to the
     * server the first one runs), then stop the first, which stops its server on the way out. The second starts
     * the server itself and serves again, with every write either instance acknowledged.
     */
    @Test
    void an_instance_attached_to_the_embedded_postgres_takes_it_over_when_the_instance_that_ran_it_stops(@TempDir Path dataDir)
            throws Exception {
        Path firstLog = dataDir.resolve("first.log");
        Path secondLog = dataDir.resolve("second.log");
        Process first = parley(firstLog, "serve", "--port", "0", "--admin-port", "0", "--data-dir", dataDir.toString());
        Process second = null;
        try {
            String output = awaitOutput(firstLog, "Try: curl", Duration.ofSeconds(120)); // initdb and every migration first
            Matcher firstUrl = URL.matcher(output);
            Matcher key = KEY.matcher(output);
            assertThat(firstUrl.find() && key.find()).as(output).isTrue();
            String written = Fixtures.character(new Api(firstUrl.group(1), key.group(1)), "Before");

            second = parley(secondLog, "serve", "--port", "0", "--admin-port", "0", "--data-dir", dataDir.toString());
            Matcher secondUrl = URL.matcher(awaitOutput(secondLog, "Parley is serving", Duration.ofSeconds(60)));
            assertThat(secondUrl.find()).isTrue();
            assertThat(Files.readString(secondLog)).contains("attaching to the PostgreSQL already running");
            Api api = new Api(secondUrl.group(1), key.group(1));
            String alsoWritten = Fixtures.character(api, "Attached");

            first.destroy(); // SIGTERM: it stops the PostgreSQL it started
            assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();

            String afterwards = Wait.forValue("the second instance to serve again", Duration.ofSeconds(60), () -> {
                Api.Response created = api.post("/v1/characters", Map.of("name", "After", "system_prompt", "You are After."));
                return created.status() == 201 ? Optional.of(created.json().get("id").asText()) : Optional.empty();
            });
            for (String id : List.of(written, alsoWritten, afterwards)) { // a connection from before the restart answers 503 once
                Wait.until("character " + id + " read back", Duration.ofSeconds(30),
                        () -> api.get("/v1/characters/" + id).status() == 200);
            }
            assertThat(Files.readString(secondLog)).contains("taking it over");
        } finally {
            first.destroyForcibly();
            if (second != null) {
                second.destroy(); // SIGTERM, so it stops the PostgreSQL it took over
                if (!second.waitFor(60, TimeUnit.SECONDS)) {
                    second.destroyForcibly();
                }
            }
        }
    }

    /** The program in its own JVM, on the test classpath, its output (and errors) written to {@code log}. */
    private static Process parley(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** A first start runs initdb and every migration: about 10 s alone, past 30 s on a loaded 2-core machine (seen in CI). */
    private static String awaitOutput(Path log, String marker) {
        return awaitOutput(log, marker, Duration.ofSeconds(90));
    }

    private static String awaitOutput(Path log, String marker, Duration timeout) {
        return Wait.forValue("serve to print '" + marker + "' in " + log, timeout,
                () -> Optional.of(Files.readString(log)).filter(output -> output.contains(marker)));
    }
}
