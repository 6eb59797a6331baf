package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class JsonLogLinesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LogCapture capture = new LogCapture(new JsonLogLines());
    private final Logger log = capture.logger("parley.slow-query");

    @Test
    void every_event_is_one_json_object_with_mdc_and_key_values() {
        Instant before = Instant.now().minusMillis(1);
        capture.mdc().put("request_id", "req-7f3a");
        capture.mdc().put("app_id", "42");
        capture.mdc().put("route", "/v1/conversations/{id}/messages");
        log.atWarn().setMessage("slow query {} took {} ms").addArgument("recent-messages").addArgument(250)
                .addKeyValue("status", 200)
                .addKeyValue("rows", 12_000_000_000L)
                .addKeyValue("took_ms", 250.5)
                .addKeyValue("ratio", new BigDecimal("0.125"))
                .addKeyValue("cached", false)
                .addKeyValue("threshold", Duration.ofMillis(200))
                .addKeyValue("previous", (Object) null)
                .log();

        JsonNode line = only(parsed());
        assertThat(line.get("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        assertThat(Instant.parse(line.get("time").asText())).isBetween(before, Instant.now());
        assertThat(line.get("level").asText()).isEqualTo("WARN");
        assertThat(line.get("logger").asText()).isEqualTo("parley.slow-query");
        assertThat(line.get("message").asText()).isEqualTo("slow query recent-messages took 250 ms");
        assertThat(line.get("request_id").asText()).isEqualTo("req-7f3a");
        assertThat(line.get("app_id").isTextual()).as("MDC values are strings").isTrue();
        assertThat(line.get("route").asText()).isEqualTo("/v1/conversations/{id}/messages");
        assertThat(line.get("status").isInt()).isTrue();
        assertThat(line.get("status").intValue()).isEqualTo(200);
        assertThat(line.get("rows").isIntegralNumber()).isTrue();
        assertThat(line.get("rows").longValue()).isEqualTo(12_000_000_000L);
        assertThat(line.get("took_ms").isDouble()).isTrue();
        assertThat(line.get("took_ms").doubleValue()).isEqualTo(250.5);
        assertThat(line.get("ratio").isNumber()).isTrue();
        assertThat(line.get("ratio").decimalValue()).isEqualByComparingTo("0.125");
        assertThat(line.get("cached").isBoolean()).isTrue();
        assertThat(line.get("cached").booleanValue()).isFalse();
        assertThat(line.get("threshold").asText()).as("other objects as their text").isEqualTo("PT0.2S");
        assertThat(line.get("previous").isNull()).isTrue();
        assertThat(line.has("error")).isFalse();
        assertThat(line.has("stack")).isFalse();
    }

    @Test
    void fields_come_in_a_fixed_order_fixed_fields_then_mdc_then_key_values() {
        capture.mdc().put("request_id", "req-1");
        log.atInfo().setMessage("answered").addKeyValue("status", 204).log();

        assertThat(only(parsed()).fieldNames()).toIterable()
                .containsExactly("time", "level", "logger", "message", "request_id", "status");
    }

    @Test
    void a_key_value_named_like_another_field_is_written_with_a_prefix_instead_of_over_it() {
        capture.mdc().put("route", "/v1/characters");
        capture.mdc().put("level", "from the MDC");
        log.atInfo().setMessage("the real message")
                .addKeyValue("message", "a caller's message")
                .addKeyValue("error", "not a throwable")
                .addKeyValue("route", "/v1/users")
                .addKeyValue("kv_message", "already prefixed")
                .log();

        JsonNode line = only(parsed());
        assertThat(line.get("message").asText()).isEqualTo("the real message");
        assertThat(line.get("level").asText()).isEqualTo("INFO");
        assertThat(line.get("mdc_level").asText()).isEqualTo("from the MDC");
        assertThat(line.get("kv_message").asText()).isEqualTo("a caller's message");
        assertThat(line.get("kv_kv_message").asText()).isEqualTo("already prefixed");
        assertThat(line.get("kv_error").asText()).isEqualTo("not a throwable");
        assertThat(line.has("error")).as("error stays for throwables").isFalse();
        assertThat(line.get("route").asText()).isEqualTo("/v1/characters");
        assertThat(line.get("kv_route").asText()).isEqualTo("/v1/users");
    }

    @Test
    void an_exception_becomes_error_and_a_stack_of_one_string() {
        var cause = new IOException("connection reset");
        log.error("append failed", new IllegalStateException("pool closed", cause));
        log.error("no message", new UncheckedIOException(null, cause));

        List<JsonNode> lines = parsed();
        assertThat(lines).hasSize(2);
        JsonNode first = lines.get(0);
        assertThat(first.get("message").asText()).isEqualTo("append failed");
        assertThat(first.get("error").asText()).isEqualTo("java.lang.IllegalStateException: pool closed");
        assertThat(first.get("stack").isTextual()).isTrue();
        assertThat(first.get("stack").asText())
                .startsWith("java.lang.IllegalStateException: pool closed\n\tat dev.parley.logging.JsonLogLinesTest.")
                .contains("Caused by: java.io.IOException: connection reset")
                .doesNotEndWith("\n");
        assertThat(lines.get(1).get("error").asText()).isEqualTo("java.io.UncheckedIOException");
    }

    /** A broken connection's warning from the pool is its line and error; its 40 lines of stack are not written. */
    @Test
    void a_warning_of_the_connection_pool_keeps_its_error_and_drops_its_stack() {
        var broken = new java.sql.SQLException("FATAL: terminating connection due to administrator command", "57P01");
        capture.logger("com.zaxxer.hikari.pool.ProxyConnection").warn("parley - Connection marked as broken", broken);
        capture.logger("com.zaxxer.hikari.pool.HikariPool").error("parley - failed", broken);

        List<JsonNode> lines = parsed();
        assertThat(lines.get(0).get("error").asText()).isEqualTo("java.sql.SQLException: FATAL: terminating connection due to "
                + "administrator command");
        assertThat(lines.get(0).has("stack")).isFalse();
        assertThat(lines.get(1).get("stack").asText()).as("an error of the pool's keeps its stack").contains("\tat ");
    }

    @Test
    void a_message_with_line_breaks_is_still_one_line_per_event() {
        log.info("first\nsecond\r\nthird");
        log.atInfo().setMessage("two\nlines").addKeyValue("body", "a\nb").log();
        log.warn("with a stack", new IllegalArgumentException("bad\ninput"));

        List<JsonNode> lines = parsed();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0).get("message").asText()).isEqualTo("first\nsecond\r\nthird");
        assertThat(lines.get(1).get("body").asText()).isEqualTo("a\nb");
        assertThat(lines.get(2).get("error").asText()).isEqualTo("java.lang.IllegalArgumentException: bad\ninput");
    }

    /** Every line written, each parsed on its own: a line that is not one JSON object fails the test. */
    private List<JsonNode> parsed() {
        return capture.lines().stream().map(JsonLogLinesTest::object).toList();
    }

    private static JsonNode object(String line) {
        try {
            JsonNode node = JSON.readTree(line);
            assertThat(node.isObject()).as(line).isTrue();
            return node;
        } catch (JsonProcessingException e) {
            throw new AssertionError("not a JSON line: " + line, e);
        }
    }

    private static JsonNode only(List<JsonNode> lines) {
        assertThat(lines).hasSize(1);
        return lines.get(0);
    }
}
