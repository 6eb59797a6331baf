package dev.parley.db;

import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Times every named statement and logs the ones slower than the threshold. The log names the
 * query and its duration, never its parameters: they carry user content.
 */
public final class QueryLog {
    private static final Logger SLOW = LoggerFactory.getLogger("parley.slow-query");

    private final MeterRegistry registry;
    private final Duration threshold;
    private final ConcurrentMap<String, Timer> okTimers = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> failedTimers = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> slowCounters = new ConcurrentHashMap<>();

    public QueryLog(MeterRegistry registry, Duration threshold) {
        this.registry = registry;
        this.threshold = threshold;
    }

    void record(Query query, long nanos, boolean ok) {
        var timers = ok ? okTimers : failedTimers;
        timers.computeIfAbsent(query.name(), name -> timer(name, ok)).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        if (nanos >= threshold.toNanos()) {
            slowCounters.computeIfAbsent(query.name(), this::slowCounter).increment();
            SLOW.warn("slow query {} took {} ms (threshold {} ms): {}", query.name(), nanos / 1_000_000,
                    threshold.toMillis(), oneLine(query.sql()));
        }
    }

    private Timer timer(String name, boolean ok) {
        return Timer.builder(Metrics.QUERY_SECONDS)
                .description(Metrics.QUERY_SECONDS_HELP)
                .tag("query", name)
                .tag("outcome", ok ? "ok" : "error")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(50_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
    }

    private Counter slowCounter(String name) {
        return Counter.builder(Metrics.SLOW_QUERIES).description(Metrics.SLOW_QUERIES_HELP)
                .tag("query", name).register(registry);
    }

    private static String oneLine(String sql) {
        return sql.replaceAll("\\s+", " ").strip();
    }
}
