package dev.parley.monitor;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One look at PostgreSQL's own statistics. Counters ({@code commits}, {@code walBytes} …) are totals since
 * the server's statistics were reset; rates come from the difference between two readings.
 *
 * <p>{@code at} is when the reading was taken. The table and partition sizes are read once a minute, and a relation
 * locked exclusively keeps its last size (measuring it would queue behind the lock): {@code sizesAt} is when the oldest
 * of them was measured.
 */
public record DatabaseReading(
        Instant at,
        Map<String, Integer> connections,
        int lockWaits,
        double oldestTransactionSeconds,
        long blocksHit,
        long blocksRead,
        long commits,
        long rollbacks,
        long deadlocks,
        long tempBytes,
        long walBytes,
        long databaseBytes,
        List<TableSize> tables,
        List<PartitionSize> partitions,
        Instant sizesAt,
        List<ReplicaLag> replicas,
        List<StatementTotals> statements) {

    /** The connection states counted, in pg_stat_activity's words with underscores. */
    public static final List<String> STATES = List.of("active", "idle", "idle_in_transaction", "idle_in_transaction_aborted", "other");

    /** A table with all its partitions, in the hot schema ({@code public}) or the archive ({@code parley_archive}). */
    public record TableSize(String schema, String table, long bytes, long liveRows, long deadRows) {
        public double deadRatio() {
            long all = liveRows + deadRows;
            return all == 0 ? 0 : (double) deadRows / all;
        }
    }

    /** One partition of a partitioned table (a month of messages, hot or archived). */
    public record PartitionSize(String schema, String table, String partition, long bytes) {
    }

    /** A standby streaming from this server, by its application_name. */
    public record ReplicaLag(String name, double lagSeconds) {
    }

    /** One of Parley's statements as pg_stat_statements counts it, named by the comment its text leads with. */
    public record StatementTotals(String query, long calls, double totalMillis, long rows) {
        public double meanMillis() {
            return calls == 0 ? 0 : totalMillis / calls;
        }
    }

    /** Zeros as of {@code at}: what stands for PostgreSQL's figures before they are first read. */
    static DatabaseReading none(Instant at) {
        return new DatabaseReading(at, STATES.stream().collect(Collectors.toUnmodifiableMap(state -> state, state -> 0)), 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, List.of(), List.of(), at, List.of(), List.of());
    }

    /** This reading with other sizes. */
    DatabaseReading withSizes(List<TableSize> tables, List<PartitionSize> partitions, Instant sizesAt) {
        return new DatabaseReading(at, connections, lockWaits, oldestTransactionSeconds, blocksHit, blocksRead, commits,
                rollbacks, deadlocks, tempBytes, walBytes, databaseBytes, tables, partitions, sizesAt, replicas, statements);
    }

    public double cacheHitRatio() {
        long all = blocksHit + blocksRead;
        return all == 0 ? 1 : (double) blocksHit / all;
    }

    public double replicationLagSeconds() {
        return replicas.stream().mapToDouble(ReplicaLag::lagSeconds).max().orElse(0);
    }
}
