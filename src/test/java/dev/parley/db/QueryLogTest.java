package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QueryLogTest {
    private static final Query QUERY = new Query("test.query", "SELECT 1");
    private static final QueryLog.Thresholds THRESHOLDS = new QueryLog.Thresholds(Duration.ofMillis(100), Duration.ofSeconds(1));

    @Test
    void statements_are_timed_by_name_failures_counted_and_the_slow_ones_counted() {
        var registry = new SimpleMeterRegistry();
        var log = new QueryLog(registry, THRESHOLDS);

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
        new QueryLog(registry, THRESHOLDS);

        assertThat(registry.get(Metrics.SLOW_QUERIES).counter().count()).isZero();
    }

    @Test
    void a_statement_carries_its_name_as_a_leading_comment_that_names_it_again() {
        assertThat(QUERY.sql()).isEqualTo("/* test.query */ SELECT 1");
        assertThat(Query.nameIn(QUERY.sql())).isEqualTo("test.query");
        assertThat(Query.nameIn("SELECT 1")).isNull();
        assertThat(Query.nameIn("/* not a name! */ SELECT 1")).isNull();
    }
}
