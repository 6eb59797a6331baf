package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class TextLogLinesTest {
    private static final String TIME = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

    private final LogCapture capture = new LogCapture(new TextLogLines());

    @Test
    void a_line_reads_time_level_short_logger_message_then_mdc_and_key_values() {
        capture.mdc().put("request_id", "req-7f3a");
        capture.logger("parley.slow-query").atWarn().setMessage("slow query took {} ms").addArgument(250)
                .addKeyValue("query", "recent-messages").addKeyValue("rows", 12).log();
        capture.logger("dev.parley.db.Supervisor").info("PostgreSQL is back");

        assertThat(capture.lines()).satisfiesExactly(
                line -> assertThat(line).matches(TIME
                        + " WARN  slow-query  slow query took 250 ms request_id=req-7f3a query=recent-messages rows=12"),
                line -> assertThat(line).matches(TIME + " INFO  Supervisor  PostgreSQL is back request_id=req-7f3a"));
    }

    @Test
    void values_that_are_not_one_word_are_quoted() {
        capture.logger("parley").atInfo().setMessage("answered")
                .addKeyValue("route", "GET /v1/users").addKeyValue("detail", "say \"hi\"").addKeyValue("empty", "").log();

        assertThat(capture.lines().get(0)).endsWith(" answered route=\"GET /v1/users\" detail=\"say \\\"hi\\\"\" empty=\"\"");
    }

    @Test
    void line_breaks_in_a_message_are_shown_escaped_so_each_event_keeps_one_line() {
        capture.logger("parley").atInfo().setMessage("first\nsecond\r\nthird").addKeyValue("body", "a\nb").log();

        assertThat(capture.lines()).singleElement().asString()
                .endsWith("  first\\nsecond\\r\\nthird body=\"a\\nb\"");
    }

    @Test
    void the_stack_trace_follows_the_line_of_its_event() {
        capture.logger("dev.parley.http.Problems").error("internal error on {}", "/v1/x",
                new IllegalStateException("pool closed"));

        List<String> lines = capture.lines();
        assertThat(lines.get(0)).matches(TIME + " ERROR Problems  internal error on /v1/x");
        assertThat(lines.get(1)).isEqualTo("java.lang.IllegalStateException: pool closed");
        assertThat(lines.get(2)).startsWith("\tat dev.parley.logging.TextLogLinesTest.");
    }

    @Test
    void a_warning_of_the_connection_pool_is_one_line_with_its_error() {
        capture.logger("com.zaxxer.hikari.pool.ProxyConnection").warn("parley - Connection marked as broken",
                new java.sql.SQLException("FATAL: terminating connection", "57P01"));

        assertThat(capture.lines()).singleElement().asString().matches(TIME + " WARN  ProxyConnection  parley - Connection "
                + "marked as broken error=\"java.sql.SQLException: FATAL: terminating connection\"");
    }
}
