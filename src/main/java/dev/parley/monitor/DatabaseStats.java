package dev.parley.monitor;

import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.metrics.Metrics;
import dev.parley.monitor.DatabaseReading.PartitionSize;
import dev.parley.monitor.DatabaseReading.ReplicaLag;
import dev.parley.monitor.DatabaseReading.StatementTotals;
import dev.parley.monitor.DatabaseReading.TableSize;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads PostgreSQL's statistics views on an interval and publishes them as {@code parley_db_*} metrics:
 * connections by state, cache hit ratio, transactions, deadlocks, temp bytes, WAL, table and partition
 * sizes, dead tuples, the oldest transaction, lock waits, replication lag, and the costliest statements
 * when pg_stat_statements is installed. One reading costs a handful of catalogue queries (about 5 ms).
 */
public final class DatabaseStats {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseStats.class);
    /** How many of the costliest statements are published; the rest would be series nobody reads. */
    static final int TOP_STATEMENTS = 10;
    private static final Duration SIZES_EVERY = Duration.ofMinutes(1);

    private static final Query ACTIVITY = new Query("monitor.activity", """
            SELECT CASE WHEN state IN ('active', 'idle') THEN state
                        WHEN state = 'idle in transaction' THEN 'idle_in_transaction'
                        WHEN state = 'idle in transaction (aborted)' THEN 'idle_in_transaction_aborted'
                        ELSE 'other' END AS state,
                   count(*) AS connections,
                   count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waits,
                   coalesce(max(extract(epoch FROM now() - xact_start)), 0) AS oldest_transaction_seconds
              FROM pg_stat_activity
             WHERE datname = current_database() AND backend_type = 'client backend'
             GROUP BY 1""");

    private static final Query DATABASE = new Query("monitor.database", """
            SELECT blks_hit, blks_read, xact_commit, xact_rollback, deadlocks, temp_bytes,
                   pg_database_size(datname) AS database_bytes,
                   CASE WHEN pg_is_in_recovery() THEN 0
                        ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint END AS wal_bytes
              FROM pg_stat_database
             WHERE datname = current_database()""");

    /**
     * Every table and partition of Parley's two schemas, partitions rolled up to their table; a partitioned
     * table counts itself too (0 bytes), so the archive shows before its first month arrives.
     *
     * pg_total_relation_size opens the relation, its TOAST table and their indexes (ACCESS SHARE), which waits
     * behind an ACCESS EXCLUSIVE lock held or only waited for (an ALTER TABLE queued behind a long reader): the
     * sampler would join the very lock queue it is there to show. So a relation with such a lock on it or on one
     * of its indexes or its TOAST table gets no size here (NULL) and keeps its last; the rest are read. Row counts
     * come from the statistics collector and need no lock.
     */
    private static final Query TABLES = new Query("monitor.tables", """
            WITH exclusive AS (
                SELECT relation FROM pg_locks
                 WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            ), with_indexed AS (
                SELECT relation FROM exclusive
                 UNION SELECT i.indrelid FROM pg_index i JOIN exclusive e ON e.relation = i.indexrelid
            ), locked AS (
                SELECT relation FROM with_indexed
                 UNION SELECT owner.oid FROM pg_class owner JOIN with_indexed w ON w.relation = owner.reltoastrelid
            )
            SELECT n.nspname AS schema, coalesce(parent.relname, c.relname) AS table_name,
                   CASE WHEN parent.oid IS NULL THEN NULL ELSE c.relname END AS partition_name,
                   CASE WHEN c.oid IN (SELECT relation FROM locked) THEN NULL ELSE pg_total_relation_size(c.oid) END AS bytes,
                   coalesce(s.n_live_tup, 0) AS live_rows, coalesce(s.n_dead_tup, 0) AS dead_rows
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
              LEFT JOIN pg_class parent ON parent.oid = i.inhparent AND parent.relkind = 'p'
              LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
             WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'parley_archive')""");

    /**
     * For the sizes' transaction: a lock taken between TABLES' look at pg_locks and its opening of the relation fails
     * the sizes at once (they keep their last values) rather than queue for the pool's PARLEY_LOCK_TIMEOUT.
     */
    private static final Query SIZES_LOCK_TIMEOUT = new Query("monitor.sizes_lock_timeout", "SET LOCAL lock_timeout = '50ms'");

    // One row per name: a standby that reconnects has two walsenders for a moment.
    private static final Query REPLICAS = new Query("monitor.replicas", """
            SELECT coalesce(nullif(application_name, ''), client_addr::text, 'standby') AS name,
                   max(coalesce(extract(epoch FROM replay_lag), 0)) AS lag_seconds
              FROM pg_stat_replication
             GROUP BY 1""");

    private static final Query STATEMENTS_SCHEMA = new Query("monitor.pg_stat_statements_schema", """
            SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_stat_statements'""");

    /**
     * %s: the schema pg_stat_statements is installed in. Only Parley's statements, by the name their text
     * leads with; one name can have several rows (DDL per partition, different IN lists), so they are summed.
     */
    private static final String STATEMENTS = """
            SELECT name, sum(calls) AS calls, sum(total_exec_time) AS total_exec_time, sum(rows) AS rows
              FROM (SELECT substring(query FROM '^/\\* ([a-z][a-z0-9_.]*) \\*/') AS name, calls, total_exec_time, rows
                      FROM %s.pg_stat_statements
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS statements
             WHERE name IS NOT NULL
             GROUP BY name
             ORDER BY total_exec_time DESC
             LIMIT %d""";

    private final Database database;
    private final Clock clock;
    private final Rows rows;
    /** What the gauges show until the first reading: zeros, as of the start. */
    private final DatabaseReading none;
    private volatile DatabaseReading latest; // null until the first reading
    /** Sizes as last published: the sampler's thread only. */
    private Sizes sizes;
    /** Each relation's last size read, and when: a relation locked at a reading keeps it. The sampler's thread only. */
    private Map<Relation.Key, Measured> measured = Map.of();
    /** When the sizes were last tried; they are tried at most once a minute. */
    private Instant sizesTriedAt = Instant.MIN;
    private final Failures readings = new Failures("PostgreSQL's statistics",
            "the parley_db_* gauges keep the last reading (parley_db_reading_age_seconds says how old)");
    private final Failures sizeReadings = new Failures("the sizes of Parley's tables",
            "parley_db_table_bytes and parley_db_partition_bytes keep the last ones (parley_db_sizes_age_seconds says how old)");

    public DatabaseStats(Database database, Clock clock, MeterRegistry registry) {
        this.database = database;
        this.clock = clock;
        this.none = DatabaseReading.none(clock.instant());
        this.sizes = new Sizes(List.of(), List.of(), none.at());
        this.rows = new Rows(registry);
        register(registry);
    }

    /** The last reading taken; empty before the first, whose zeros would be no start for a rate. */
    public Optional<DatabaseReading> latest() {
        return Optional.ofNullable(latest);
    }

    /** Whether the last attempt to read PostgreSQL's statistics failed: {@link #latest} is then older than it looks. */
    public boolean failing() {
        return readings.failing();
    }

    /**
     * Takes a reading now (from one thread: the sampler's); on failure (the database down, say) keeps the last one,
     * and says so in the log when readings start failing and when they work again. The sizes are read apart: when
     * they cannot be, the rest is published with the last sizes.
     */
    public void sample() {
        DatabaseReading read;
        try {
            read = database.read(this::read);
        } catch (RuntimeException e) {
            readings.failed(clock.instant(), e);
            return;
        }
        readings.worked(read.at());
        Sizes sized = sizesAtMostEveryMinute();
        DatabaseReading taken = read.withSizes(sized.tables(), sized.partitions(), sized.oldest());
        latest = taken;
        rows.publish(taken);
    }

    /** Everything but the sizes, which need no lock on any of Parley's tables; the sizes are the last ones. */
    private DatabaseReading read(Handle handle) throws SQLException {
        Activity activity = activity(handle);
        Totals totals = handle.first(DATABASE, row -> new Totals(row.getLong("blks_hit"), row.getLong("blks_read"),
                row.getLong("xact_commit"), row.getLong("xact_rollback"), row.getLong("deadlocks"), row.getLong("temp_bytes"),
                row.getLong("wal_bytes"), row.getLong("database_bytes"))).orElseThrow();
        List<ReplicaLag> replicas = handle.list(REPLICAS, row -> new ReplicaLag(row.getString("name"), row.getDouble("lag_seconds")));
        return new DatabaseReading(clock.instant(), activity.connections(), activity.lockWaits(), activity.oldestSeconds(),
                totals.blocksHit(), totals.blocksRead(), totals.commits(), totals.rollbacks(), totals.deadlocks(),
                totals.tempBytes(), totals.walBytes(), totals.databaseBytes(), sizes.tables(), sizes.partitions(), sizes.oldest(),
                replicas, statements(handle));
    }

    private record Activity(Map<String, Integer> connections, int lockWaits, double oldestSeconds) {
    }

    private record Totals(long blocksHit, long blocksRead, long commits, long rollbacks, long deadlocks, long tempBytes,
                          long walBytes, long databaseBytes) {
    }

    private record StateRow(String state, int connections, int lockWaits, double oldestSeconds) {
    }

    private static Activity activity(Handle handle) throws SQLException {
        Map<String, Integer> connections = noConnections();
        int lockWaits = 0;
        double oldest = 0;
        for (StateRow row : handle.list(ACTIVITY, row -> new StateRow(row.getString("state"), row.getInt("connections"),
                row.getInt("lock_waits"), row.getDouble("oldest_transaction_seconds")))) {
            connections.merge(row.state(), row.connections(), Integer::sum);
            lockWaits += row.lockWaits();
            oldest = Math.max(oldest, row.oldestSeconds());
        }
        return new Activity(Map.copyOf(connections), lockWaits, oldest);
    }

    private static Map<String, Integer> noConnections() {
        Map<String, Integer> none = new HashMap<>();
        DatabaseReading.STATES.forEach(state -> none.put(state, 0));
        return none;
    }

    /** The sizes published, and when the oldest of them was read. */
    private record Sizes(List<TableSize> tables, List<PartitionSize> partitions, Instant oldest) {
    }

    /**
     * Sizes change slowly and cost the most to read (a stat of every file of every partition: 400 ms for
     * 333 relations on a busy 2-core machine), so they are read once a minute, whatever the sampling interval.
     * If they cannot be read (a lock taken just as they were), the last ones stay until the next minute.
     */
    private Sizes sizesAtMostEveryMinute() {
        Instant now = clock.instant();
        if (now.isBefore(sizesTriedAt.plus(SIZES_EVERY))) {
            return sizes;
        }
        sizesTriedAt = now;
        try {
            List<Relation> relations = database.inTransaction(handle -> {
                handle.execute(SIZES_LOCK_TIMEOUT);
                return handle.list(TABLES, row -> new Relation(new Relation.Key(row.getString("schema"), row.getString("table_name"),
                        row.getString("partition_name")), (Long) row.getObject("bytes"), row.getLong("live_rows"),
                        row.getLong("dead_rows")));
            });
            sizes = sizes(relations, now);
            sizeReadings.worked(now);
        } catch (RuntimeException e) {
            sizeReadings.failed(now, e);
        }
        return sizes;
    }

    /** One table or partition; {@code bytes} null when it was locked and not measured. */
    private record Relation(Key key, Long bytes, long live, long dead) {
        record Key(String schema, String table, String partition) {
        }
    }

    private record Measured(long bytes, Instant at) {
    }

    /**
     * The sizes of {@code relations} read {@code now}, those not measured (locked) at their last measure; one locked
     * since before its first counts 0 bytes, and no age, until it is measured.
     */
    private Sizes sizes(List<Relation> relations, Instant now) {
        Map<Relation.Key, Measured> measuredNow = new HashMap<>();
        for (Relation r : relations) {
            Measured m = r.bytes() != null ? new Measured(r.bytes(), now) : measured.get(r.key());
            if (m != null) {
                measuredNow.put(r.key(), m);
            }
        }
        measured = measuredNow;
        Instant oldest = measuredNow.values().stream().map(Measured::at).min(Comparator.naturalOrder()).orElse(now);
        Map<List<String>, TableSize> tables = new TreeMap<>(Comparator.comparing(Object::toString));
        List<PartitionSize> partitions = new ArrayList<>();
        for (Relation r : relations) {
            Relation.Key key = r.key();
            long bytes = measuredNow.containsKey(key) ? measuredNow.get(key).bytes() : 0;
            tables.merge(List.of(key.schema(), key.table()), new TableSize(key.schema(), key.table(), bytes, r.live(), r.dead()),
                    (a, b) -> new TableSize(a.schema(), a.table(), a.bytes() + b.bytes(), a.liveRows() + b.liveRows(),
                            a.deadRows() + b.deadRows()));
            if (key.partition() != null) {
                partitions.add(new PartitionSize(key.schema(), key.table(), key.partition(), bytes));
            }
        }
        partitions.sort(Comparator.comparing(PartitionSize::partition));
        return new Sizes(List.copyOf(tables.values()), List.copyOf(partitions), oldest);
    }

    /**
     * Something the sampler reads that can fail for a while (an outage, a restart): one WARN when it starts failing and
     * one INFO when it works again, saying for how long it failed, as the Redis tier does; a line per sample was 720
     * WARN lines an hour at the default 5 s, and a burst whenever missed samples ran one after the other.
     */
    private static final class Failures {
        private final String what;
        private final String meanwhile;
        private volatile Instant since; // when it began failing; null while it works
        private int failures;

        boolean failing() {
            return since != null;
        }

        Failures(String what, String meanwhile) {
            this.what = what;
            this.meanwhile = meanwhile;
        }

        void failed(Instant now, RuntimeException e) {
            failures++;
            if (since != null) {
                LOG.debug("still cannot read {}: {}", what, e.getMessage());
                return;
            }
            since = now;
            LOG.warn("cannot read {} ({}); {} until they can be read again", what, e.getMessage(), meanwhile);
        }

        void worked(Instant now) {
            if (since == null) {
                return;
            }
            LOG.info("{} can be read again, after {} ms and {} failed attempt(s)", what, Duration.between(since, now).toMillis(),
                    failures);
            since = null;
            failures = 0;
        }
    }

    private static List<StatementTotals> statements(Handle handle) throws SQLException {
        Optional<String> schema = handle.first(STATEMENTS_SCHEMA, row -> row.getString(1));
        if (schema.isEmpty()) {
            return List.of();
        }
        var top = new Query("monitor.top_statements", STATEMENTS.formatted(quoted(schema.get()), TOP_STATEMENTS));
        return handle.list(top, row -> new StatementTotals(row.getString("name"), row.getLong("calls"),
                row.getDouble("total_exec_time"), row.getLong("rows")));
    }

    private static String quoted(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private void register(MeterRegistry registry) {
        for (String state : DatabaseReading.STATES) {
            gauge(registry, Metrics.DB_CONNECTIONS, Metrics.DB_CONNECTIONS_HELP, Tags.of("state", state),
                    r -> r.connections().getOrDefault(state, 0));
        }
        gauge(registry, Metrics.DB_READING_AGE, Metrics.DB_READING_AGE_HELP, Tags.empty(), r -> secondsSince(r.at()));
        gauge(registry, Metrics.DB_SIZES_AGE, Metrics.DB_SIZES_AGE_HELP, Tags.empty(), r -> secondsSince(r.sizesAt()));
        gauge(registry, Metrics.DB_LOCK_WAITS, Metrics.DB_LOCK_WAITS_HELP, Tags.empty(), DatabaseReading::lockWaits);
        gauge(registry, Metrics.DB_OLDEST_TRANSACTION, Metrics.DB_OLDEST_TRANSACTION_HELP, Tags.empty(),
                DatabaseReading::oldestTransactionSeconds);
        gauge(registry, Metrics.DB_CACHE_HIT_RATIO, Metrics.DB_CACHE_HIT_RATIO_HELP, Tags.empty(), DatabaseReading::cacheHitRatio);
        gauge(registry, Metrics.DB_SIZE, Metrics.DB_SIZE_HELP, Tags.empty(), DatabaseReading::databaseBytes);
        gauge(registry, Metrics.DB_REPLICATION_LAG, Metrics.DB_REPLICATION_LAG_HELP, Tags.empty(),
                DatabaseReading::replicationLagSeconds);
        counter(registry, Metrics.DB_TRANSACTIONS, Metrics.DB_TRANSACTIONS_HELP, Tags.of("outcome", "commit"), DatabaseReading::commits);
        counter(registry, Metrics.DB_TRANSACTIONS, Metrics.DB_TRANSACTIONS_HELP, Tags.of("outcome", "rollback"), DatabaseReading::rollbacks);
        counter(registry, Metrics.DB_DEADLOCKS, Metrics.DB_DEADLOCKS_HELP, Tags.empty(), DatabaseReading::deadlocks);
        counter(registry, Metrics.DB_TEMP_BYTES, Metrics.DB_TEMP_BYTES_HELP, Tags.empty(), DatabaseReading::tempBytes);
        counter(registry, Metrics.DB_WAL_BYTES, Metrics.DB_WAL_BYTES_HELP, Tags.empty(), DatabaseReading::walBytes);
    }

    /** The per-table, per-partition, per-replica and per-statement series, rewritten after every reading. */
    private static final class Rows {
        private final Series tableBytes;
        private final Series deadRatio;
        private final Series partitionBytes;
        private final Series replicaLag;
        private final Series statementTime;
        private final Series statementCalls;

        Rows(MeterRegistry registry) {
            tableBytes = new Series(registry, Metrics.DB_TABLE_BYTES, Metrics.DB_TABLE_BYTES_HELP);
            deadRatio = new Series(registry, Metrics.DB_DEAD_TUPLE_RATIO, Metrics.DB_DEAD_TUPLE_RATIO_HELP);
            partitionBytes = new Series(registry, Metrics.DB_PARTITION_BYTES, Metrics.DB_PARTITION_BYTES_HELP);
            replicaLag = new Series(registry, Metrics.DB_REPLICA_LAG, Metrics.DB_REPLICA_LAG_HELP);
            statementTime = new Series(registry, Metrics.DB_STATEMENT_TIME, Metrics.DB_STATEMENT_TIME_HELP);
            statementCalls = new Series(registry, Metrics.DB_STATEMENT_CALLS, Metrics.DB_STATEMENT_CALLS_HELP);
        }

        void publish(DatabaseReading reading) {
            tableBytes.publish(reading.tables(), t -> Tags.of("schema", t.schema(), "table", t.table()), TableSize::bytes);
            deadRatio.publish(reading.tables(), t -> Tags.of("schema", t.schema(), "table", t.table()), TableSize::deadRatio);
            partitionBytes.publish(reading.partitions(), p -> Tags.of("schema", p.schema(), "table", p.table(),
                    "partition", p.partition()), PartitionSize::bytes);
            replicaLag.publish(reading.replicas(), r -> Tags.of("replica", r.name()), ReplicaLag::lagSeconds);
            statementTime.publish(reading.statements(), s -> Tags.of("query", s.query()), s -> s.totalMillis() / 1000);
            statementCalls.publish(reading.statements(), s -> Tags.of("query", s.query()), StatementTotals::calls);
        }
    }

    /**
     * One metric whose rows come and go with the readings. A row that stays keeps its gauge, and its value is
     * replaced in place: re-registering it (MultiGauge's overwrite) removes the gauge and adds it again, and a
     * Prometheus scrape running meanwhile can see both and fail the whole /metrics answer with
     * DuplicateLabelsException (micrometer#6851; seen once in CI, on the replica lag, a metric of one row).
     */
    private static final class Series {
        private final MultiGauge gauge;
        private final Map<Tags, Cell> cells = new HashMap<>(); // the rows of the last reading; the sampler's thread only

        /** A row's value; the gauge reads it whenever it is scraped. */
        private static final class Cell {
            volatile double value;
        }

        Series(MeterRegistry registry, String name, String help) {
            gauge = MultiGauge.builder(name).description(help).register(registry);
        }

        <T> void publish(List<T> items, Function<T, Tags> tags, ToDoubleFunction<T> value) {
            Map<Tags, Cell> now = new LinkedHashMap<>();
            for (T item : items) {
                Tags row = tags.apply(item);
                Cell cell = cells.computeIfAbsent(row, ignored -> new Cell());
                cell.value = value.applyAsDouble(item);
                now.put(row, cell);
            }
            cells.keySet().retainAll(now.keySet());
            // Without overwrite, rows already there keep their gauge (reading the same cell); rows gone are removed.
            gauge.register(now.entrySet().stream().<MultiGauge.Row<?>>map(row -> MultiGauge.Row.of(row.getKey(), row.getValue(),
                    cell -> cell.value)).toList(), false);
        }
    }

    /** The last reading, or {@link #none} before the first. */
    private DatabaseReading shown() {
        DatabaseReading taken = latest;
        return taken != null ? taken : none;
    }

    private double secondsSince(Instant then) {
        return Math.max(0, Duration.between(then, clock.instant()).toMillis() / 1000.0);
    }

    private void gauge(MeterRegistry registry, String name, String help, Tags tags, ToDoubleFunction<DatabaseReading> value) {
        Gauge.builder(name, this, stats -> value.applyAsDouble(stats.shown())).description(help).tags(tags).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String help, Tags tags, ToDoubleFunction<DatabaseReading> value) {
        FunctionCounter.builder(name, this, stats -> value.applyAsDouble(stats.shown())).description(help).tags(tags).register(registry);
    }
}
