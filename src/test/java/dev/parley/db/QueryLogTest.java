package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QueryLogTest {
    private static final Query QUERY = new Query("test.query", "SELECT 1");

    @Test
    void statements_are_timed_by_name_and_the_slow_ones_counted() {
        var registry = new SimpleMeterRegistry();
        var log = new QueryLog(registry, Duration.ofMillis(100));

        log.record(QUERY, Duration.ofMillis(5).toNanos(), true);
        log.record(QUERY, Duration.ofMillis(250).toNanos(), true);
        log.record(QUERY, Duration.ofMillis(1).toNanos(), false);

        assertThat(registry.get(Metrics.QUERY_SECONDS).tag("query", "test.query").tag("outcome", "ok").timer().count())
                .isEqualTo(2);
        assertThat(registry.get(Metrics.QUERY_SECONDS).tag("outcome", "error").timer().count()).isEqualTo(1);
        assertThat(registry.get(Metrics.SLOW_QUERIES).tag("query", "test.query").counter().count()).isEqualTo(1);
    }
}
