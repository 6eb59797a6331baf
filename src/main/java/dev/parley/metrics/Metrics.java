package dev.parley.metrics;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * Every metric Parley publishes, by name, with its description. Tags stay low-cardinality:
 * a route template or a query name, never a raw path, id or user value.
 */
public final class Metrics {
    public static final String QUERY_SECONDS = "parley.query";
    public static final String QUERY_SECONDS_HELP = "Latency of each named SQL statement, failures included, by query name";

    public static final String QUERY_ERRORS = "parley.query.errors";
    public static final String QUERY_ERRORS_HELP = "Named SQL statements that failed, by query name";

    public static final String SLOW_QUERIES = "parley.query.slow";
    public static final String SLOW_QUERIES_HELP = "Statements slower than the slow-query threshold (the slow-query log names them)";

    public static final String HTTP_SECONDS = "parley.http.request";
    public static final String HTTP_SECONDS_HELP = "HTTP request latency by method and route template";

    public static final String HTTP_RESPONSES = "parley.http.responses";
    public static final String HTTP_RESPONSES_HELP = "HTTP responses by method, route template and status";

    /**
     * The histogram buckets of request latencies. Few and fixed: a series carries 14 lines, not the
     * 80 of a percentile histogram, so /metrics stays under 200 kB with every route in use.
     */
    public static final Duration[] HTTP_BUCKETS = millis(1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000);

    /**
     * The histogram buckets of statement latencies: fewer again, since there are more statements than routes;
     * one above a second, so an alert on "p99 over 1 s" can tell.
     */
    public static final Duration[] QUERY_BUCKETS = millis(1, 10, 100, 1000, 5000);

    /** The histogram buckets of Redis commands, which answer in well under a millisecond when all is well. */
    public static final Duration[] REDIS_BUCKETS = millis(0.25, 0.5, 1, 2.5, 10, 50, 250, 1000);

    public static final String MAINTENANCE_ROUNDS = "parley.maintenance.rounds";
    public static final String MAINTENANCE_ROUNDS_HELP = "Rounds of daily maintenance (partitions, keys, retention, archive) finished, by outcome";

    public static final String APPEND_BATCH_SIZE = "parley.append.batch.size";
    public static final String APPEND_BATCH_SIZE_HELP = "Messages written per group-commit transaction";

    public static final String POOL_REJECTED = "parley.pool.rejected";
    public static final String POOL_REJECTED_HELP = "Requests answered 503 because what they waited for came free too late, "
            + "by resource (connections: the database pool, append_writers: group commit's writers)";
    /** The tag of {@link #POOL_REJECTED} that says what was full. */
    public static final String POOL_REJECTED_RESOURCE = "resource";

    public static final String POOL_WAITING = "parley.pool.waiting";
    public static final String POOL_WAITING_HELP = "Requests waiting their turn for a database connection now, by what they "
            + "wait for (app_share: their app holds its PARLEY_APP_SHARE of the pool; connection: none is free). "
            + "hikaricp_connections_pending never counts them";

    public static final String CACHE_REQUESTS = "parley.cache.requests";
    public static final String CACHE_REQUESTS_HELP = "Reads of cached views by cache (character, user, conversation, "
            + "history, inbox, context) and result (hit, miss)";

    public static final String CACHE_LOADS = "parley.cache.loads";
    public static final String CACHE_LOADS_HELP = "Views read from PostgreSQL on a miss (one per key however many readers missed it)";

    public static final String CACHE_NOTICES = "parley.cache.notices";
    public static final String CACHE_NOTICES_HELP = "Change notices heard from other instances and triggers, by kind";

    public static final String CACHE_REMOVALS = "parley.cache.removals";
    public static final String CACHE_REMOVALS_HELP = "Cached scopes dropped, by scope kind and cause (changed, late_load, expired, evicted)";

    public static final String CACHE_BYTES = "parley.cache.bytes";
    public static final String CACHE_BYTES_HELP = "Estimated memory held by cached views";

    public static final String COUNTER_FLUSH_SIZE = "parley.counters.flush.size";
    public static final String COUNTER_FLUSH_SIZE_HELP = "Conversations and users whose counters one write-behind statement wrote";

    public static final String RECALL_BYTES = "parley.recall.bytes";
    public static final String RECALL_BYTES_HELP = "Estimated memory held by recall's vectors and the memories kept with them (PARLEY_RECALL_CACHE)";

    public static final String RECALL_EMBEDDINGS_READ = "parley.recall.embeddings.read";
    public static final String RECALL_EMBEDDINGS_READ_HELP = "Embeddings recall read from the database into memory: a scope's all on "
            + "its first recall, then only those written since";
    public static final String COUNTERS_HELD = "parley.counters.held";
    public static final String COUNTERS_HELD_HELP = "Conversations and users with counter increments in memory, not yet written";

    public static final String COUNTERS_LOST = "parley.counters.lost";
    public static final String COUNTERS_LOST_HELP = "Counter increments given up on, by reason: refused (their row refused "
            + "them), unconfirmed (the connection broke while writing them and they could not be checked before shutdown), "
            + "shutdown (the database was down at shutdown)";

    public static final String REDIS_REQUESTS = "parley.cache.redis.requests";
    public static final String REDIS_REQUESTS_HELP = "Views looked up in Redis after a local miss, by family and result "
            + "(hit; miss; unreadable: JSON that does not fit the view's type, read as a miss)";

    public static final String REDIS_WRITES = "parley.cache.redis.writes";
    public static final String REDIS_WRITES_HELP = "Views loaded from PostgreSQL and offered to Redis, by result (kept; "
            + "refused: the scope changed since the load began, a change to it was committing, or Redis started a new epoch)";

    public static final String REDIS_COMMAND_SECONDS = "parley.cache.redis.command";
    public static final String REDIS_COMMAND_SECONDS_HELP = "Latency of each Redis command or script, by name, failures included";

    public static final String REDIS_ERRORS = "parley.cache.redis.errors";
    public static final String REDIS_ERRORS_HELP = "Redis commands that failed or timed out, by name; the first opens the circuit";

    public static final String REDIS_UP = "parley.cache.redis.up";
    public static final String REDIS_UP_HELP = "1 while Redis is used, 0 while the circuit is open and everything goes without it";

    // Sampled from PostgreSQL's statistics views by monitor.DatabaseStats, every PARLEY_ADMIN_SAMPLE.
    public static final String DB_CONNECTIONS = "parley.db.connections";
    public static final String DB_CONNECTIONS_HELP = "Client connections to Parley's database by state (active, idle, "
            + "idle_in_transaction, idle_in_transaction_aborted, other), from every client, not only this instance";

    public static final String DB_READING_AGE = "parley.db.reading.age.seconds";
    public static final String DB_READING_AGE_HELP = "Seconds since PostgreSQL's statistics were last read: every other "
            + "parley_db_* series is as old (up to PARLEY_ADMIN_SAMPLE normally; growing while they cannot be read)";

    public static final String DB_SIZES_AGE = "parley.db.sizes.age.seconds";
    public static final String DB_SIZES_AGE_HELP = "Seconds since the oldest of the table and partition sizes was measured "
            + "(up to a minute normally; more while a table is locked ACCESS EXCLUSIVE, or the sizes cannot be read)";

    public static final String DB_LOCK_WAITS = "parley.db.lock.waits";
    public static final String DB_LOCK_WAITS_HELP = "Connections waiting for a lock now";

    public static final String DB_OLDEST_TRANSACTION = "parley.db.oldest.transaction.seconds";
    public static final String DB_OLDEST_TRANSACTION_HELP = "Age of the oldest open transaction (it holds back vacuum)";

    public static final String DB_CACHE_HIT_RATIO = "parley.db.cache.hit.ratio";
    public static final String DB_CACHE_HIT_RATIO_HELP = "Share of block reads served from shared buffers since statistics were reset";

    public static final String DB_SIZE = "parley.db.size.bytes";
    public static final String DB_SIZE_HELP = "Size of Parley's database on disk";

    public static final String DB_REPLICATION_LAG = "parley.db.replication.lag.max.seconds";
    public static final String DB_REPLICATION_LAG_HELP = "Replay lag of the furthest-behind standby (0 with none)";

    public static final String DB_REPLICA_LAG = "parley.db.replica.lag.seconds";
    public static final String DB_REPLICA_LAG_HELP = "Replay lag of each streaming standby, by its application_name";

    public static final String DB_TRANSACTIONS = "parley.db.transactions";
    public static final String DB_TRANSACTIONS_HELP = "Transactions in Parley's database by outcome (commit, rollback)";

    public static final String DB_DEADLOCKS = "parley.db.deadlocks";
    public static final String DB_DEADLOCKS_HELP = "Deadlocks detected in Parley's database";

    public static final String DB_TEMP_BYTES = "parley.db.temp.bytes";
    public static final String DB_TEMP_BYTES_HELP = "Bytes written to temporary files by queries (sorts and hashes larger than work_mem)";

    public static final String DB_WAL_BYTES = "parley.db.wal.bytes";
    public static final String DB_WAL_BYTES_HELP = "WAL written by the server (all databases), as its current LSN";

    public static final String DB_TABLE_BYTES = "parley.db.table.bytes";
    public static final String DB_TABLE_BYTES_HELP = "Size of each table with its partitions, indexes and TOAST, by schema "
            + "(public: hot; parley_archive: archived months)";

    public static final String DB_PARTITION_BYTES = "parley.db.partition.bytes";
    public static final String DB_PARTITION_BYTES_HELP = "Size of each partition (a month of messages), hot or archived";

    public static final String DB_DEAD_TUPLE_RATIO = "parley.db.dead.tuple.ratio";
    public static final String DB_DEAD_TUPLE_RATIO_HELP = "Dead rows over all rows of each table (vacuum falls behind when it grows)";

    public static final String DB_STATEMENT_TIME = "parley.db.statement.time.seconds";
    public static final String DB_STATEMENT_TIME_HELP = "Execution time pg_stat_statements counts for the costliest of Parley's "
            + "statements (top 10), by query name; a running total";

    public static final String DB_STATEMENT_CALLS = "parley.db.statement.calls";
    public static final String DB_STATEMENT_CALLS_HELP = "Calls pg_stat_statements counts for the same statements; a running total";

    private Metrics() {
    }

    private static Duration[] millis(double... bounds) {
        return java.util.Arrays.stream(bounds).mapToObj(ms -> Duration.ofNanos((long) (ms * 1_000_000))).toArray(Duration[]::new);
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
