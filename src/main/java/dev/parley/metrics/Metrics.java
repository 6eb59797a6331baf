package dev.parley.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * Every metric Parley publishes, by name, with its description. Tags stay low-cardinality:
 * a route template or a query name, never a raw path, id or user value.
 */
public final class Metrics {
    public static final String QUERY_SECONDS = "parley.query";
    public static final String QUERY_SECONDS_HELP = "Latency of each named SQL statement, by query name and outcome";

    public static final String SLOW_QUERIES = "parley.query.slow";
    public static final String SLOW_QUERIES_HELP = "Statements slower than the slow-query threshold, by query name";

    public static final String HTTP_SECONDS = "parley.http.request";
    public static final String HTTP_SECONDS_HELP = "HTTP request latency by method, route template and status";

    public static final String MAINTENANCE_ROUNDS = "parley.maintenance.rounds";
    public static final String MAINTENANCE_ROUNDS_HELP = "Rounds of daily maintenance (partitions, keys, retention, archive) finished, by outcome";

    public static final String APPEND_BATCH_SIZE = "parley.append.batch.size";
    public static final String APPEND_BATCH_SIZE_HELP = "Messages written per group-commit transaction";

    public static final String POOL_REJECTED = "parley.pool.rejected";
    public static final String POOL_REJECTED_HELP = "Requests answered 503 because no database connection came free in time";

    public static final String CACHE_REQUESTS = "parley.cache.requests";
    public static final String CACHE_REQUESTS_HELP = "Reads of cached views by family (character, user, conversation, "
            + "history, inbox, context) and result (hit, miss)";

    public static final String CACHE_LOADS = "parley.cache.loads";
    public static final String CACHE_LOADS_HELP = "Views read from PostgreSQL on a miss (one per key however many readers missed it)";

    public static final String CACHE_NOTICES = "parley.cache.notices";
    public static final String CACHE_NOTICES_HELP = "Change notices heard from other instances and triggers, by kind";

    public static final String CACHE_REMOVALS = "parley.cache.removals";
    public static final String CACHE_REMOVALS_HELP = "Cached scopes dropped, by scope kind and cause (changed, expired, evicted)";

    public static final String CACHE_BYTES = "parley.cache.bytes";
    public static final String CACHE_BYTES_HELP = "Estimated memory held by cached views";

    public static final String COUNTER_FLUSH_SIZE = "parley.counters.flush.size";
    public static final String COUNTER_FLUSH_SIZE_HELP = "Conversations and users whose counters one write-behind statement wrote";

    public static final String COUNTERS_HELD = "parley.counters.held";
    public static final String COUNTERS_HELD_HELP = "Conversations and users with counter increments in memory, not yet written";

    public static final String COUNTERS_LOST = "parley.counters.lost";
    public static final String COUNTERS_LOST_HELP = "Counter increments given up on, by reason: refused (their row refused "
            + "them), unconfirmed (the connection broke while writing them), shutdown (the database was down at shutdown)";

    public static final String REDIS_REQUESTS = "parley.cache.redis.requests";
    public static final String REDIS_REQUESTS_HELP = "Views looked up in Redis after a local miss, by family and result "
            + "(hit; miss; unreadable: JSON that does not fit the view's type, read as a miss)";

    public static final String REDIS_WRITES = "parley.cache.redis.writes";
    public static final String REDIS_WRITES_HELP = "Views loaded from PostgreSQL and offered to Redis, by result (kept; "
            + "refused: the scope changed since the load began, or Redis started a new epoch)";

    public static final String REDIS_COMMAND_SECONDS = "parley.cache.redis.command";
    public static final String REDIS_COMMAND_SECONDS_HELP = "Latency of each Redis command or script, by name, failures included";

    public static final String REDIS_ERRORS = "parley.cache.redis.errors";
    public static final String REDIS_ERRORS_HELP = "Redis commands that failed or timed out, by name; the first opens the circuit";

    public static final String REDIS_UP = "parley.cache.redis.up";
    public static final String REDIS_UP_HELP = "1 while Redis is used, 0 while the circuit is open and everything goes without it";

    private Metrics() {
    }

    /** A Prometheus registry with the JVM and process meters every dashboard expects. */
    public static PrometheusMeterRegistry newRegistry() {
        var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        return registry;
    }
}
