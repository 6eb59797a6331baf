package dev.parley;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.Api;
import dev.parley.support.Cli;
import dev.parley.support.Cli.Run;
import dev.parley.support.Fixtures;
import dev.parley.support.Ports;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MonitorCommandTest {
    private static final String KEY = "monitor-test-admin-key-0123456789";

    @Test
    void once_prints_one_snapshot_of_routes_pool_caches_database_statements_and_tables() {
        Parley parley = TestServer.start("parley_monitor", Map.of("PARLEY_ADMIN_KEY", KEY, "PARLEY_ADMIN_SAMPLE", "200ms"));
        try {
            var api = new Api("http://127.0.0.1:" + parley.port(), parley.apps().create("monitored").apiKey());
            String conversation = Fixtures.conversation(api).get("id").asText();
            String admin = "http://127.0.0.1:" + parley.adminPort();

            Run run = Wait.forValue("the history route in the monitor", Duration.ofSeconds(10), () -> {
                api.getOk("/v1/conversations/" + conversation + "/messages");
                Run now = monitor("--once", "--url", admin, "--key", KEY);
                return now.out().contains("GET /v1/conversations/{conversation_id}/messages")
                        ? java.util.Optional.of(now) : java.util.Optional.empty();
            });

            assertThat(run.status()).isZero();
            assertThat(run.out()).contains("Parley at " + admin, "Requests", "p99", "Pool", "/20 in use", "Caches",
                    "Database", "cache hit", "no standbys", "ROUTE", "STATEMENT", "TABLE", "messages");
            assertThat(run.out()).as("no colour codes unless asked for").doesNotContain("\u001b[");
        } finally {
            parley.close();
        }
    }

    /** Piped to head, it polled the admin port for ever: PrintWriter keeps a broken pipe's error to itself. */
    @Test
    void it_stops_when_its_reader_goes_away_and_sends_no_screen_clearing_into_a_pipe() throws Exception {
        Parley parley = TestServer.start("parley_monitor_piped", Map.of("PARLEY_ADMIN_KEY", KEY));
        try {
            var head = new Head(2);
            var monitor = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(head), new PrintWriter(Writer.nullWriter()),
                    "monitor", "--url", "http://127.0.0.1:" + parley.adminPort(), "--key", KEY, "--interval", "1"));

            assertThat(monitor.get(30, TimeUnit.SECONDS)).isZero();
            assertThat(head.read()).contains("Parley at ").doesNotContain("\u001b[");
        } finally {
            parley.close();
        }
    }

    /** It redraws until Ctrl-C, docs/operations.md says: a refresh that found nothing answering (a restart) ended it. */
    @Test
    void a_refresh_nothing_answers_is_shown_with_its_time_and_the_next_tries_again() throws Exception {
        String nowhere = "http://127.0.0.1:" + Ports.free();
        var head = new Head(2);
        var errors = new StringWriter();
        var monitor = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(head), new PrintWriter(errors),
                "monitor", "--url", nowhere, "--interval", "1"));

        assertThat(monitor.get(30, TimeUnit.SECONDS)).isZero();
        String screens = head.read();
        assertThat(screens.split("nothing answers at " + nowhere, -1)).as(screens).hasSize(3);
        assertThat(screens).containsPattern("Parley at " + nowhere + " · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC")
                .contains("trying again every 1 s");
        assertThat(errors.toString()).isEmpty();
    }

    /** A pipe to {@code head}: takes {@code screens} screens (what each flush sends), then is closed as head closes it. */
    private static final class Head extends OutputStream {
        private final ByteArrayOutputStream written = new ByteArrayOutputStream();
        private final int screens;
        private int flushed;
        private boolean unflushed;

        Head(int screens) {
            this.screens = screens;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            if (flushed == screens) {
                throw new IOException("Broken pipe");
            }
            written.write(bytes, offset, length);
            unflushed = true;
        }

        @Override
        public synchronized void flush() {
            if (unflushed) {
                flushed++;
                unflushed = false;
            }
        }

        synchronized String read() {
            return written.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void a_server_that_answers_with_something_but_an_overview_is_said_not_to_be_parleys_admin_port() throws Exception {
        for (String body : List.of("{}", "<html>hello</html>")) {
            var server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", exchange -> {
                byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, bytes.length);
                exchange.getResponseBody().write(bytes);
                exchange.close();
            });
            server.start();
            try {
                Run run = monitor("--once", "--url", "http://127.0.0.1:" + server.getAddress().getPort());

                assertThat(run.status()).as(body).isEqualTo(1);
                assertThat(run.err()).as(body).contains("answered, but not with Parley's overview")
                        .doesNotContain("temporal").doesNotContain("Unexpected character");
            } finally {
                server.stop(0);
            }
        }
    }

    @Test
    void a_wrong_key_or_nothing_listening_is_a_clear_failure() throws Exception {
        Parley parley = TestServer.start("parley_monitor_keyed", Map.of("PARLEY_ADMIN_KEY", KEY));
        try {
            Run refused = monitor("--once", "--url", "http://127.0.0.1:" + parley.adminPort(), "--key", "wrong");
            Run keyless = monitor("--once", "--url", "http://127.0.0.1:" + parley.adminPort());
            Run apiPort = monitor("--once", "--url", "http://127.0.0.1:" + parley.port(), "--key", KEY);
            assertThat(apiPort.status()).isEqualTo(1);
            assertThat(apiPort.err()).contains("has no /admin/overview: is this Parley's admin port").doesNotContain("{\"");
            assertThat(refused.status()).isEqualTo(1);
            assertThat(refused.err()).contains("the admin port refused the key given (--key)");
            assertThat(keyless.status()).isEqualTo(1);
            assertThat(keyless.err()).contains("wants its key: --key or PARLEY_ADMIN_KEY");
            for (String port : List.of(String.valueOf(parley.adminPort()), String.valueOf(parley.port()))) {
                var errors = new StringWriter();
                var refreshing = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(new StringWriter()),
                        new PrintWriter(errors), "monitor", "--url", "http://127.0.0.1:" + port, "--key", "wrong", "--interval", "1"));
                assertThat(refreshing.get(30, TimeUnit.SECONDS)).as("refreshing ends at an answer no refresh changes").isEqualTo(1);
                assertThat(errors.toString()).containsAnyOf("refused the key given", "has no /admin/overview");
            }
        } finally {
            parley.close();
        }
        for (String notAnAddress : List.of("notaurl", "http://a b", "http://127.0.0.1:99999", "http://127.0.0.1:8081/admin",
                "http://127.0.0.1:8081?window=1m", "ftp://127.0.0.1:8081")) {
            Run notAUrl = monitor("--once", "--url", notAnAddress);
            assertThat(notAUrl.status()).as(notAnAddress + ": a usage error").isEqualTo(2);
            assertThat(notAUrl.err()).as(notAnAddress).contains("--url takes the admin port's address")
                    .contains("'" + notAnAddress + "'").doesNotContain("Exception");
        }
        Run unknownHost = monitor("--once", "--url", "http://no-such-host.invalid:8081");
        assertThat(unknownHost.status()).isEqualTo(1);
        assertThat(unknownHost.err()).contains("no host is known by the name no-such-host.invalid");
        Run nobody = monitor("--once", "--url", "http://127.0.0.1:1");
        assertThat(nobody.status()).isEqualTo(1);
        assertThat(nobody.err()).contains("nothing answers at http://127.0.0.1:1");
    }

    @Test
    void a_window_the_admin_port_would_refuse_is_a_usage_error_before_asking_it() {
        for (String window : new String[] {"10m", "0s", "abc", "30"}) {
            Run run = monitor("--once", "--url", "http://127.0.0.1:1", "--window", window);

            assertThat(run.status()).as(window).isEqualTo(2);
            assertThat(run.err()).as(window).contains("--window must be a span from 1s to 5m").doesNotContain("\"type\"");
        }
    }

    /**
     * A window is read as the other commands read a duration, "1 m" too, and sent as the span it names: "1 m" as given
     * ended the monitor with 'Illegal character in query at index 24'.
     */
    @Test
    void a_window_written_with_spaces_is_sent_as_the_span_it_names() throws Exception {
        List<String> asked = new CopyOnWriteArrayList<>();
        var server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            asked.add(exchange.getRequestURI().getRawQuery());
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
        try {
            for (String window : List.of("1 m", " 1m", "1m ", "90 s")) {
                Run run = monitor("--once", "--url", "http://127.0.0.1:" + server.getAddress().getPort(), "--window", window);

                assertThat(run.err()).as(window).contains("has no /admin/overview").doesNotContain("Illegal character");
            }
        } finally {
            server.stop(0);
        }
        assertThat(asked).containsExactly("window=1m", "window=1m", "window=1m", "window=90s");
    }

    private static Run monitor(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "monitor";
        System.arraycopy(args, 0, all, 1, args.length);
        return Cli.parley(all);
    }
}
