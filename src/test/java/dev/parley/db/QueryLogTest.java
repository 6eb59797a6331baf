package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class QueryLogTest {
    private static final Query QUERY = new Query("test.query", "SELECT 1");
    private static final QueryLog.Thresholds THRESHOLDS = new QueryLog.Thresholds(Duration.ofMillis(100), Duration.ofSeconds(1));

    @Test
    void statements_are_timed_by_name_failures_counted_and_the_slow_ones_counted() {
        var registry = new SimpleMeterRegistry();
        var log = new QueryLog(registry, THRESHOLDS, new Slowest());

        log.record(QUERY, Duration.ofMillis(5).toNanos(), 1, 0);
        log.record(QUERY, Duration.ofMillis(250).toNanos(), 3, 0);
        log.record(QUERY, Duration.ofMillis(1).toNanos(), -1, 0);

        assertThat(registry.get(Metrics.QUERY_SECONDS).tag("query", "test.query").timer().count()).isEqualTo(3);
        assertThat(registry.get(Metrics.QUERY_ERRORS).tag("query", "test.query").counter().count()).isEqualTo(1);
        assertThat(registry.get(Metrics.SLOW_QUERIES).counter().count()).isEqualTo(1);
    }

    @Test
    void the_slow_query_counter_exists_at_zero_before_any_statement_runs() {
        var registry = new SimpleMeterRegistry();
        new QueryLog(registry, THRESHOLDS, new Slowest());

        assertThat(registry.get(Metrics.SLOW_QUERIES).counter().count()).isZero();
    }

    @Test
    void a_statement_carries_its_name_as_a_leading_comment() {
        assertThat(QUERY.sql()).isEqualTo("/* test.query */ SELECT 1");
    }

    @Test
    void the_slow_query_log_names_time_and_rows_and_adds_the_sql_only_past_the_second_threshold_never_its_values() {
        var log = new QueryLog(new SimpleMeterRegistry(), THRESHOLDS, new Slowest());
        var query = new Query("test.lookup", "SELECT * FROM users WHERE external_id = ?");

        List<ILoggingEvent> lines = capture(() -> {
            log.record(query, Duration.ofMillis(50).toNanos(), 1, 1); // under both: no line
            log.record(query, Duration.ofMillis(300).toNanos(), 7, 1);
            log.record(query, Duration.ofSeconds(2).toNanos(), -1, 1);
        });

        assertThat(lines).hasSize(2);
        assertThat(fields(lines.get(0))).containsEntry("query", "test.lookup").containsEntry("duration_ms", 300L)
                .containsEntry("rows", 7).doesNotContainKey("sql");
        assertThat(fields(lines.get(1))).as("rows stays a number where it is; a failure says so apart")
                .containsEntry("failed", true).doesNotContainKey("rows")
                .containsEntry("sql", "/* test.lookup */ SELECT * FROM users WHERE external_id = ?")
                .containsEntry("parameters", "1 bound, values not logged");
    }

    private static List<ILoggingEvent> capture(Runnable work) {
        Logger logger = (Logger) LoggerFactory.getLogger("parley.slow-query");
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        logger.addAppender(appender);
        Level before = logger.getLevel();
        logger.setLevel(Level.WARN);
        try {
            work.run();
            return List.copyOf(appender.list);
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }
    }

    private static Map<String, Object> fields(ILoggingEvent event) {
        return event.getKeyValuePairs().stream().collect(Collectors.toMap(kv -> kv.key, kv -> kv.value));
    }
}
