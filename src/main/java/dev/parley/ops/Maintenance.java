package dev.parley.ops;

import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.WordIndexes;
import dev.parley.lifecycle.Archive;
import dev.parley.lifecycle.Retention;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Period;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daily upkeep a running Parley does by itself: monthly partitions made three months ahead,
 * rows that fell into a catch-all partition reported, expired idempotency keys and counter flush tokens dropped, each app's
 * retention applied ({@link Retention}), and months past PARLEY_ARCHIVE_AFTER archived ({@link Archive}).
 */
public final class Maintenance {
    private static final Logger LOG = LoggerFactory.getLogger(Maintenance.class);
    public static final int MONTHS_AHEAD = 3;
    static final Duration IDEMPOTENCY_RETENTION = Duration.ofDays(7);

    // Small batches keep each delete transaction short; the BRIN index on created_at finds them.
    static final Query PURGE_KEYS = new Query("idempotency.purge_expired", """
            DELETE FROM message_idempotency_keys
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM message_idempotency_keys
                                      WHERE created_at < now() - make_interval(secs => ?)
                                      LIMIT 10000))""");

    // A write-behind flush's token is looked at only while the flush is retried, seconds after it was written.
    /**
     * The partitioned tables (messages, the archive's) whose statistics are due: autovacuum gathers their partitions',
     * never theirs, and a query over several months is planned on the parent's, guesses without them (the doctor says
     * so past 1,000 rows, or a week behind). Due when not analysed for 6 days and their partitions hold 1,000 rows: an
     * ANALYZE of a parent samples each partition again, so not daily on a large table, nor on an empty one.
     */
    static final Query PARENTS_DUE = new Query("maintenance.parents_due", """
            SELECT c.oid::regclass::text FROM pg_class c
              LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
             WHERE c.oid IN ('messages'::regclass, to_regclass('%s'))
               AND coalesce(greatest(s.last_analyze, s.last_autoanalyze), '-infinity') < now() - interval '6 days'
               AND (SELECT coalesce(sum(greatest(x.reltuples, 0)), 0) FROM pg_partition_tree(c.oid) p
                      JOIN pg_class x ON x.oid = p.relid WHERE p.isleaf) >= 1000""".formatted(Partitions.ARCHIVE));

    static final Query PURGE_FLUSH_TOKENS = new Query("counters.purge_flush_tokens", """
            DELETE FROM counter_flushes WHERE written_at < now() - interval '1 day'""");

    private final Database database;
    private final Partitions partitions;
    private final Retention retention;
    private final Archive archive;
    private final Optional<Period> archiveAfter;
    private final Clock clock;
    private final Counter succeeded;
    private final Counter failed;

    /** {@code archiveAfter}: the age past which months move into the archive (PARLEY_ARCHIVE_AFTER); none: never by itself. */
    public Maintenance(Database database, Partitions partitions, Retention retention, Archive archive,
                       Optional<Period> archiveAfter, Clock clock, MeterRegistry registry) {
        this.database = database;
        this.partitions = partitions;
        this.retention = retention;
        this.archive = archive;
        this.archiveAfter = archiveAfter;
        this.clock = clock;
        this.succeeded = Counter.builder(Metrics.MAINTENANCE_ROUNDS).description(Metrics.MAINTENANCE_ROUNDS_HELP)
                .tag("outcome", "ok").register(registry);
        this.failed = Counter.builder(Metrics.MAINTENANCE_ROUNDS).description(Metrics.MAINTENANCE_ROUNDS_HELP)
                .tag("outcome", "failed").register(registry);
    }

    /** One round of upkeep; returns the number of rows found in the catch-all partitions. */
    public long run() {
        long stragglers = ensurePartitions();
        purgeExpiredKeys();
        database.read(handle -> handle.execute(PURGE_FLUSH_TOKENS));
        retention.apply(); // before the archive, which would otherwise copy what retention is about to drop
        archive.finishMoves();
        archiveAfter.ifPresent(archive::archiveOlderThan);
        for (String parent : database.read(handle -> handle.list(PARENTS_DUE, row -> row.getString(1)))) {
            database.read(handle -> handle.execute(new Query("maintenance.analyze_parent", "ANALYZE " + parent)));
        }
        return stragglers;
    }

    /**
     * Makes the current month and the next {@value #MONTHS_AHEAD}, and warns about rows in the catch-all
     * partitions; returns how many there are. Serve runs this before it takes requests.
     */
    public long ensurePartitions() {
        partitions.ensureAhead(clock.instant(), MONTHS_AHEAD);
        long stragglers = partitions.catchAllRows();
        if (stragglers > 0) {
            LOG.warn("{} message(s) sit in the catch-all partitions {} / {}: their months had no partition when they "
                    + "were written; 'parley partitions' shows them", stragglers, Partitions.BEFORE, Partitions.AFTER);
        }
        return stragglers;
    }

    /**
     * Puts back the words indexes an interrupted {@code parley import --bulk} left going through their pending lists
     * ({@link WordIndexes#putBackLeftOn}). Serve runs this at start: not daily, where it would slow down a bulk load
     * that is running.
     */
    public List<String> putBackWordIndexes() {
        List<String> indexes = WordIndexes.putBackLeftOn(database);
        if (!indexes.isEmpty()) {
            LOG.warn("{} words index(es) were left going through their pending lists (fastupdate=on) by an interrupted "
                    + "'parley import --bulk'; put back and merged: {}", indexes.size(), indexes);
        }
        return indexes;
    }

    private void purgeExpiredKeys() {
        long purged = 0;
        int deleted;
        do {
            deleted = database.read(handle -> handle.execute(PURGE_KEYS, (double) IDEMPOTENCY_RETENTION.toSeconds()));
            purged += deleted;
        } while (deleted > 0);
        if (purged > 0) {
            LOG.info("dropped {} idempotency key(s) older than {} days", purged, IDEMPOTENCY_RETENTION.toDays());
        }
    }

    /** {@link #run} for the caller's daily schedule: a failed round is logged and counted, and the next day's tries again. */
    public void runLogged() {
        try {
            run();
            succeeded.increment();
        } catch (RuntimeException e) {
            failed.increment();
            LOG.error("daily maintenance failed; it runs again tomorrow", e);
        }
    }
}
