package dev.parley.db;

import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Times every named statement and logs the slow ones: above {@code slow}, the query's name, duration
 * and row count; above {@code slowWithSql}, its SQL text too. Parameter values are never logged (they
 * carry user content): the text has placeholders where they go, and the line says how many were bound.
 */
public final class QueryLog {
    private static final Logger SLOW = LoggerFactory.getLogger("parley.slow-query");

    /** The two thresholds of the slow-query log. */
    public record Thresholds(Duration slow, Duration slowWithSql) {
    }

    private final MeterRegistry registry;
    private final long slowNanos;
    private final long sqlNanos;
    private final Slowest slowest;
    private final ConcurrentMap<String, Slowest.Timed> timers = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> errors = new ConcurrentHashMap<>();
    private final Counter slowQueries;

    /** {@code slowest}: where each statement's slowest since the monitor's last reading is kept. */
    public QueryLog(MeterRegistry registry, Thresholds thresholds, Slowest slowest) {
        this.registry = registry;
        this.slowest = slowest;
        this.slowNanos = thresholds.slow().toNanos();
        this.sqlNanos = thresholds.slowWithSql().toNanos();
        // Registered now, so a dashboard or an alert sees 0 rather than no series until the first slow statement.
        this.slowQueries = Counter.builder(Metrics.SLOW_QUERIES).description(Metrics.SLOW_QUERIES_HELP).register(registry);
    }

    /** For tools and tests that read no metrics: times into a registry of its own, logs only statements over an hour. */
    public static QueryLog quiet() {
        Duration hour = Duration.ofHours(1);
        return new QueryLog(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), new Thresholds(hour, hour), new Slowest());
    }

    /** Records one run of {@code query}: {@code rows} returned or touched, -1 when it failed. */
    void record(Query query, long nanos, int rows, int parameters) {
        timers.computeIfAbsent(query.name(), this::timer).record(nanos);
        if (rows < 0) {
            errors.computeIfAbsent(query.name(), this::errorCounter).increment();
        }
        if (nanos >= slowNanos) {
            slowQueries.increment();
            logSlow(query, nanos, rows, parameters);
        }
    }

    private void logSlow(Query query, long nanos, int rows, int parameters) {
        LoggingEventBuilder line = SLOW.atWarn()
                .addKeyValue("query", query.name())
                .addKeyValue("duration_ms", TimeUnit.NANOSECONDS.toMillis(nanos));
        // rows is always a number (a log query's field keeps one type); a statement that failed has failed instead
        line = rows < 0 ? line.addKeyValue("failed", true) : line.addKeyValue("rows", rows);
        if (nanos >= sqlNanos) {
            line = line.addKeyValue("sql", oneLine(query.sql())).addKeyValue("parameters", parameters + " bound, values not logged");
        }
        line.log("slow query {} took {} ms", query.name(), TimeUnit.NANOSECONDS.toMillis(nanos));
    }

    private Slowest.Timed timer(String name) {
        return slowest.track(Timer.builder(Metrics.QUERY_SECONDS)
                .description(Metrics.QUERY_SECONDS_HELP)
                .tag("query", name)
                .serviceLevelObjectives(Metrics.QUERY_BUCKETS)
                .register(registry));
    }

    private Counter errorCounter(String name) {
        return Counter.builder(Metrics.QUERY_ERRORS).description(Metrics.QUERY_ERRORS_HELP)
                .tag("query", name).register(registry);
    }

    private static String oneLine(String sql) {
        return sql.replaceAll("\\s+", " ").strip();
    }
}
