package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.Parley;
import dev.parley.support.Api;
import dev.parley.support.Fixtures;
import dev.parley.support.TestServer;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AccessLogTest {
    @Test
    void every_request_gets_one_access_line_with_its_id_route_status_and_app_but_not_its_query_string() throws Exception {
        Api api = TestServer.newApp();
        String user = Fixtures.conversation(api).get("user_id").asText();
        List<ILoggingEvent> lines = capture("parley.access", () -> {
            api.get("/v1/search/messages?q=secretwords&user_id=" + user, "X-Request-Id", "trace-42");
            api.get("/v1/conversations/999/messages", "X-Request-Id", "trace-43");
            return null;
        });

        ILoggingEvent ok = only(lines, "trace-42");
        assertThat(fields(ok)).containsEntry("method", "GET")
                .containsEntry("path", "/v1/search/messages")
                .containsEntry("route", "/v1/search/messages")
                .containsEntry("status", 200)
                .containsKeys("duration_ms", "app_id");
        assertThat(fields(ok).get("app_id")).as("a string, as the slow-query and Redis lines give it from the MDC")
                .isInstanceOf(String.class);
        assertThat(ok.getFormattedMessage()).doesNotContain("secretwords");
        assertThat(fields(ok).values()).noneMatch(v -> String.valueOf(v).contains("secretwords"));
        assertThat(fields(only(lines, "trace-43"))).containsEntry("status", 404);
    }

    @Test
    void lines_logged_while_a_route_runs_carry_its_request_id_route_and_app() throws Exception {
        Parley parley = TestServer.start("parley_access_log", Map.of("PARLEY_SLOW_QUERY", "0ms", "PARLEY_SLOW_QUERY_SQL", "0ms"));
        try {
            var app = parley.apps().create("logged");
            var api = new Api("http://127.0.0.1:" + parley.port(), app.apiKey());
            List<ILoggingEvent> slow = capture("parley.slow-query", () -> api.get("/v1/characters", "X-Request-Id", "trace-slow"));

            ILoggingEvent line = slow.stream().filter(e -> "trace-slow".equals(e.getMDCPropertyMap().get("request_id")))
                    .filter(e -> e.getMDCPropertyMap().containsKey("route")) // the key's own lookup runs before routing
                    .findFirst().orElseThrow(() -> new AssertionError("no slow-query line carried the request id: " + slow));
            assertThat(line.getMDCPropertyMap()).containsEntry("method", "GET").containsEntry("route", "/v1/characters")
                    .containsEntry("app_id", String.valueOf(app.appId()));
            assertThat(fields(line)).containsKeys("query", "duration_ms", "rows", "sql", "parameters");
            assertThat(String.valueOf(fields(line).get("sql"))).startsWith("/* ").doesNotContain("'");
        } finally {
            parley.close();
        }
    }

    /** Jetty answers these itself, with a request id in the answer: each id must lead to an access line. */
    @Test
    void a_request_jetty_refuses_before_parley_reads_it_gets_an_access_line_with_the_id_it_was_told() throws Exception {
        int port = java.net.URI.create(TestServer.newApp().base()).getPort();
        Map<String, String> requests = Map.of(
                "414", "GET /v1/characters?q=" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "431", "GET /v1/characters HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "y".repeat(20_000) + "\r\n\r\n",
                "400", "GET /v1/characters/%00 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Map<String, String> ids = new java.util.HashMap<>();
        List<ILoggingEvent> lines = capture("parley.access", () -> {
            requests.forEach((status, request) -> {
                try (var raw = new dev.parley.support.RawHttp(port)) {
                    var answer = raw.send(request);
                    assertThat(answer.status()).as(status).isEqualTo(Integer.parseInt(status));
                    ids.put(status, answer.headers().get("x-request-id"));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            return null;
        });

        ids.forEach((status, id) -> assertThat(fields(only(lines, id))).as(status)
                .containsEntry("status", Integer.parseInt(status)).containsEntry("route", "unmatched"));
    }

    /** The events {@code logger} logs at info and above while {@code work} runs, whatever level the suite runs at. */
    static List<ILoggingEvent> capture(String logger, Supplier<?> work) {
        Logger target = (Logger) LoggerFactory.getLogger(logger);
        Level before = target.getLevel();
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        target.addAppender(appender);
        target.setLevel(Level.INFO);
        try {
            work.get();
            return waitForLines(appender);
        } finally {
            target.detachAppender(appender);
            target.setLevel(before);
        }
    }

    /** The access line is written after the response went out: give it a moment. */
    private static List<ILoggingEvent> waitForLines(ListAppender<ILoggingEvent> appender) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        int seen = -1;
        while (System.nanoTime() < deadline && appender.list.size() != seen) {
            seen = appender.list.size();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return List.copyOf(appender.list);
    }

    private static ILoggingEvent only(List<ILoggingEvent> lines, String requestId) {
        List<ILoggingEvent> matching = lines.stream().filter(e -> requestId.equals(fields(e).get("request_id"))).toList();
        assertThat(matching).as("access lines of " + requestId).hasSize(1);
        return matching.get(0);
    }

    static Map<String, Object> fields(ILoggingEvent event) {
        return event.getKeyValuePairs() == null ? Map.of() : event.getKeyValuePairs().stream()
                .collect(Collectors.toMap(kv -> kv.key, kv -> kv.value, (a, b) -> b));
    }
}
