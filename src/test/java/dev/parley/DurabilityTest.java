package dev.parley;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.Wait;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An acknowledged append survives anything: {@code parley serve} runs as its own process on its
 * embedded PostgreSQL, several clients append with Idempotency-Keys, and mid-load the process (or
 * the database under it) is killed with SIGKILL. After the restart, the appends that were not
 * acknowledged are retried with their keys, and the conversation must hold every acknowledged
 * message, each once, with sequence numbers 1, 2, 3 ... without a gap.
 */
class DurabilityTest {
    private static final Pattern URL = Pattern.compile("serving (http://[\\d.]+:\\d+)/v1");
    private static final Pattern KEY = Pattern.compile("(pk_[A-Za-z0-9_-]{43})");
    private static final int CLIENTS = 4;
    private static final int ACKNOWLEDGED_BEFORE_THE_KILL = 120;

    /** Who sent what: every key tried, the message id each acknowledged one was given, and any answer that was a bug. */
    private static final class Ledger {
        final Set<String> tried = ConcurrentHashMap.newKeySet();
        final Map<String, String> acknowledged = new ConcurrentHashMap<>();
        final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    }

    @Test
    void a_killed_parley_loses_no_acknowledged_append_and_stores_none_twice(@TempDir Path dataDir) throws Exception {
        Server first = Server.start(dataDir);
        Api api = first.api(first.key());
        String conversation = Fixtures.conversation(api).get("id").asText();
        var ledger = new Ledger();

        try (var load = new Load(ledger, () -> api, conversation)) {
            load.awaitAcknowledged(ACKNOWLEDGED_BEFORE_THE_KILL);
            first.kill();
        }
        Server second = Server.start(dataDir);
        try {
            assertThat(Files.readString(second.log())).as("the new Parley looks after the PostgreSQL the killed one left")
                    .contains("left running by a Parley that is gone");
            retryUnacknowledged(second.api(first.key()), conversation, ledger);
            assertIntact(second.api(first.key()), conversation, ledger);
        } finally {
            second.stop();
        }
    }

    @Test
    void a_killed_embedded_postgresql_loses_no_acknowledged_append_and_stores_none_twice(@TempDir Path dataDir) throws Exception {
        Server server = Server.start(dataDir);
        try {
            Api api = server.api(server.key());
            String conversation = Fixtures.conversation(api).get("id").asText();
            var ledger = new Ledger();

            try (var load = new Load(ledger, () -> api, conversation)) {
                load.awaitAcknowledged(ACKNOWLEDGED_BEFORE_THE_KILL);
                ProcessHandle postmaster = ProcessHandle.of(postmasterPid(dataDir)).orElseThrow();
                postmaster.destroyForcibly(); // kill -9; Parley restarts it
                postmaster.onExit().get(10, TimeUnit.SECONDS);
                load.awaitAcknowledged(ledger.acknowledged.size() + ACKNOWLEDGED_BEFORE_THE_KILL);
            }
            retryUnacknowledged(api, conversation, ledger);
            assertIntact(api, conversation, ledger);
        } finally {
            server.stop();
        }
    }

    /** Each client appends its own numbered messages until closed; a failed append is left for the retry. */
    private static final class Load implements AutoCloseable {
        private final ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Ledger ledger;

        Load(Ledger ledger, java.util.function.Supplier<Api> api, String conversation) {
            this.ledger = ledger;
            for (int client = 0; client < CLIENTS; client++) {
                int c = client;
                clients.execute(() -> {
                    for (int i = 0; running.get(); i++) {
                        String key = "client-" + c + "-" + i;
                        ledger.tried.add(key);
                        append(api.get(), conversation, key, ledger.errors).ifPresent(id -> ledger.acknowledged.put(key, id));
                    }
                });
            }
        }

        void awaitAcknowledged(int count) {
            Wait.until(count + " acknowledged appends (errors: " + ledger.errors + ")", Duration.ofSeconds(60),
                    () -> ledger.acknowledged.size() >= count);
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            clients.shutdown();
            assertThat(clients.awaitTermination(90, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** The stored message's id if the append was acknowledged (201, or 200 for a replay), else empty. */
    private static Optional<String> append(Api api, String conversation, String key, List<String> errors) {
        try {
            var response = api.post("/v1/conversations/" + conversation + "/messages", Map.of("content", key),
                    "Idempotency-Key", key);
            if (response.status() != 201 && response.status() != 200 && response.status() != 503) {
                errors.add(key + ": " + response);
            }
            return response.status() == 201 || response.status() == 200
                    ? Optional.of(response.json().get("id").asText()) : Optional.empty();
        } catch (RuntimeException connectionLost) { // the process died under the request
            return Optional.empty();
        }
    }

    private static void retryUnacknowledged(Api api, String conversation, Ledger ledger) {
        for (String key : ledger.tried) {
            if (!ledger.acknowledged.containsKey(key)) {
                String id = Wait.forValue("the retry of " + key, Duration.ofSeconds(30),
                        () -> append(api, conversation, key, ledger.errors));
                ledger.acknowledged.put(key, id);
            }
        }
    }

    private static void assertIntact(Api api, String conversation, Ledger ledger) {
        assertThat(ledger.errors).as("answers other than 201, 200 and 503").isEmpty();
        Map<String, JsonNode> stored = new LinkedHashMap<>();
        List<Long> seqs = new ArrayList<>();
        String cursor = null;
        do { // newest page first, then older ones
            JsonNode page = api.getOk("/v1/conversations/" + conversation + "/messages?limit=200"
                    + (cursor == null ? "" : "&before=" + cursor));
            for (JsonNode message : page.get("messages")) {
                assertThat(stored.put(message.get("content").asText(), message)).as("stored twice: " + message).isNull();
                seqs.add(message.get("seq").asLong());
            }
            cursor = page.get("has_older").asBoolean() ? page.get("older_cursor").asText() : null;
        } while (cursor != null);
        seqs.sort(null);

        assertThat(stored.keySet()).as("every acknowledged append, and nothing else").containsExactlyInAnyOrderElementsOf(ledger.acknowledged.keySet());
        ledger.acknowledged.forEach((key, id) -> assertThat(stored.get(key).get("id").asText()).as(key).isEqualTo(id));
        assertThat(seqs).as("gap-free").containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, seqs.size()).boxed().toList());
        assertThat(seqs.size()).isGreaterThanOrEqualTo(ACKNOWLEDGED_BEFORE_THE_KILL);
    }

    private static long postmasterPid(Path dataDir) throws IOException {
        return Long.parseLong(Files.readAllLines(dataDir.resolve("pg").resolve("postmaster.pid")).getFirst().strip());
    }

    /** One {@code parley serve} process on a data folder of its own. */
    private record Server(Process process, Path log, String url) {
        static Server start(Path dataDir) throws Exception {
            Path log = Files.createTempFile(dataDir, "serve", ".log");
            List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "serve", "--port", "0", "--admin-port", "0", "--data-dir", dataDir.toString());
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            String output = Wait.forValue("serve to start", Duration.ofSeconds(90), () -> {
                String text = Files.readString(log);
                boolean ready = text.contains("Try: curl") || text.contains("Use an app's API key"); // after the key, if any
                return ready ? Optional.of(text) : Optional.empty();
            });
            Matcher url = URL.matcher(output);
            assertThat(url.find()).as(output).isTrue();
            return new Server(process, log, url.group(1));
        }

        /** The key the first start printed for the default app. */
        String key() throws IOException {
            Matcher key = KEY.matcher(Files.readString(log));
            assertThat(key.find()).isTrue();
            return key.group(1);
        }

        Api api(String key) {
            return new Api(url, key);
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL: no shutdown hook, nothing drained
            process.waitFor(10, TimeUnit.SECONDS);
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

}
