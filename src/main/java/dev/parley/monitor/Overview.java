package dev.parley.monitor;

import dev.parley.monitor.DatabaseReading.PartitionSize;
import dev.parley.monitor.DatabaseReading.ReplicaLag;
import dev.parley.monitor.DatabaseReading.StatementTotals;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What a running Parley is doing, over the last {@code windowSeconds}: what {@code parley monitor}
 * prints and the dashboard's tables show. Rates are per second; latencies in milliseconds; {@code slowQueries} the
 * statements past PARLEY_SLOW_QUERY in the window. The database's figures are its last reading, {@code readingAgeSeconds}
 * old when the overview was asked for; {@code stale} while PostgreSQL's statistics cannot be read (the database down,
 * say), so a frozen reading does not pass for a quiet database.
 */
public record Overview(Instant time, double windowSeconds, double uptimeSeconds, Requests requests, List<RouteStats> routes,
                       List<StatementStats> statements, long slowQueries, Pool pool, List<CacheStats> caches, Database database) {

    public record Requests(double perSecond, double errorsPerSecond, double p50Ms, double p95Ms, double p99Ms) {
    }

    /** One route template ("GET /v1/conversations/{conversation_id}/messages"); errors are 5xx answers. */
    public record RouteStats(String route, double perSecond, double errorsPerSecond, double p50Ms, double p95Ms, double p99Ms) {
    }

    /** One named statement as Parley timed it in the window (network and driver included). */
    public record StatementStats(String query, double perSecond, double meanMs, double p99Ms, double totalMs) {
    }

    /** The connection pool now; {@code rejected}, the requests it refused for want of a connection in the window. */
    public record Pool(int size, int active, int idle, int waiting, long rejected) {
    }

    public record CacheStats(String cache, double hitRatio, double perSecond) {
    }

    public record Table(String schema, String table, long bytes, double deadRatio) {
    }

    public record Database(Map<String, Integer> connections, double cacheHitRatio, double transactionsPerSecond,
                           double rollbacksPerSecond, long deadlocks, double tempBytesPerSecond, double walBytesPerSecond,
                           double oldestTransactionSeconds, int lockWaits, long sizeBytes, double growthBytesPerHour,
                           List<Table> tables, List<PartitionSize> partitions, List<ReplicaLag> replicas,
                           List<StatementTotals> topStatements, double readingAgeSeconds, boolean stale) {
    }
}
