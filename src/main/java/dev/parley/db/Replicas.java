package dev.parley.db;

import dev.parley.db.Consistency.Lsn;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BiFunction;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.api.MigrationVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read replicas (PARLEY_REPLICA_URLS): streaming standbys of the primary that serve the reads which may
 * lag a little (history, inbox, search, recall, stats, analytics: {@link Database#readNearby}).
 *
 * <p>Every {@code sampleEvery} the primary's WAL position is noted, and each replica's replayed position
 * read. A replica's lag is how long ago the primary first held WAL the replica has not replayed yet (0
 * when it has replayed all the primary had at the last sample); one further behind than {@code maxLag},
 * or not answering, is out of rotation until a sample finds it back. A server that answers but is not in recovery
 * (the primary itself, or some other database) is not a standby, nor one that streams another server's WAL (another
 * system identifier or timeline, or a position past the primary's), and a standby whose database lacks this build's
 * schema (another database of the server) serves nothing Parley asks: neither is read from, and the log says why
 * once (until it is found fit). A read a replica fails for a reason of its own is served by the primary. A read that
 * carries a consistency
 * token (the position a write answered with, {@link Consistency#runAfter}) goes to a replica only once it
 * has replayed past that position, waiting at most {@code tokenWait}; otherwise, and whenever no replica can
 * serve, the primary answers. A page after a cursor taken from a newer page ({@link Database#readNearbyHolding}) goes
 * to a replica only once it holds every write made before the cursor's time and {@link #SETTLE} after it, so that paging
 * on from a page the primary served neither skips nor repeats rows.
 */
public final class Replicas implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Replicas.class);
    /** A replica's pool is named this and the replica's name, the pool label of HikariCP's meters of it. */
    static final String POOL_PREFIX = "parley-replica-";
    // The insert position, not the write position (pg_current_wal_lsn): with synchronous_commit off a commit
    // returns before its record is written, and only the insert position is sure to be past it.
    static final Query PRIMARY_POSITION = new Query("replica.primary_position", "SELECT pg_current_wal_insert_lsn()::text");
    static final Query REPLAYED = new Query("replica.replayed", "SELECT pg_last_wal_replay_lsn()::text");
    /**
     * Whether the server is a standby at all (a promoted one keeps its last replayed position), what it has replayed, and
     * whether its database holds a schema Parley made.
     */
    static final Query SAMPLE = new Query("replica.sample", """
            SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, to_regclass('flyway_schema_history') IS NOT NULL""");
    /**
     * Which server's WAL this is: its system identifier (made by initdb, kept by its standbys) and timeline (a promoted
     * standby starts a new one). The primary's is the timeline of the WAL it writes now (its file name's first 8 hex
     * digits): its last checkpoint's may still be the one before for minutes after a promotion. A standby's is the
     * timeline it receives (visible to pg_read_all_stats), else that of its last restartpoint, which may lag likewise.
     */
    static final Query PRIMARY_IDENTITY = new Query("replica.primary_identity", """
            SELECT (SELECT system_identifier FROM pg_control_system())::text,
                   ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::int""");
    static final Query STANDBY_IDENTITY = new Query("replica.identity", """
            SELECT (SELECT system_identifier FROM pg_control_system())::text,
                   coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))""");
    /** Where a managed server denies pg_control_system: whose WAL it is goes unchecked (DatabaseIdentity's case too). */
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    /** The replica's schema version, as the primary's watch reads it (DatabaseWatch): asked only where the history is. */
    static final Query SCHEMA = new Query("replica.schema", """
            SELECT version FROM flyway_schema_history WHERE success AND version IS NOT NULL ORDER BY installed_rank DESC LIMIT 1""");
    /**
     * The primary's positions are kept to tell lag by for at least this long, and for PARLEY_REPLICA_MAX_LAG and a sample
     * when that is longer: a replica behind all of them is at least that far behind, which the lag gauge then shows.
     */
    private static final Duration MARKS_KEPT_AT_LEAST = Duration.ofMinutes(2);
    /** A query canceled by a conflict with recovery (a standby's, not the request's): the primary answers it. */
    private static final String CONFLICT_WITH_RECOVERY = "40001";
    /**
     * How long after its id's time a write may still commit: its id is drawn in its transaction, a moment before the
     * commit, and instances' clocks differ a little. A replica serves a page after a cursor only once it holds all the
     * primary had committed this long after the cursor's time.
     */
    static final Duration SETTLE = Duration.ofSeconds(1);
    /** How often a read that waits for its replica to catch up looks again. */
    private static final long CATCH_UP_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /**
     * How far behind a replica may be and stay in rotation, how long a token read waits for one, how often they are sampled,
     * and the schema version a replica's database must be at (this build's newest migration), as the primary's is.
     */
    public record Options(Duration maxLag, Duration tokenWait, Duration sampleEvery, String schemaVersion) {
    }

    /** A replica's state as last sampled: for /metrics and the tests. */
    public record State(String name, boolean inRotation, double lagSeconds, String problem) {
    }

    /** What a replica answered; null: it could not serve, read the primary. */
    record Served<T>(T value) {
    }

    private record Mark(long millis, Lsn lsn) {
    }

    /** A server's system identifier and timeline; null where the server does not tell them. */
    record Identity(String system, int timeline) {
    }

    private static final class Replica {
        final String name;
        final Database pool;
        final Counter reads;
        volatile boolean answering;
        volatile Lsn replayed;
        volatile double lagSeconds = Double.POSITIVE_INFINITY;
        volatile long holdsUpTo = Long.MIN_VALUE; // by the clock: every write the primary had committed then is replayed
        volatile String problem = "not sampled yet";
        volatile Boolean standby; // null: not answering (or not sampled yet)
        volatile Boolean schemaCurrent; // null: not answering, or not a standby
        String told; // the reason it may not serve that the log last gave; sampled on one thread
        final java.util.concurrent.atomic.AtomicReference<String> failedRead = new java.util.concurrent.atomic.AtomicReference<>();
        boolean served; // whether it has been in rotation since the start, by the samples (on that thread)

        Replica(String name, Database pool, Counter reads) {
            this.name = name;
            this.pool = pool;
            this.reads = reads;
        }
    }

    private final Database primary;
    private final List<Replica> replicas;
    private final Options options;
    private final Counter primaryReads;
    private final Deque<Mark> marks = new ArrayDeque<>(); // guarded by itself
    private final AtomicInteger turn = new AtomicInteger();
    private final Clock clock; // when the primary held a position, by which lag is told
    private final Duration marksKept;
    private long positionReadAt = Long.MIN_VALUE; // when the newest mark's position was last read (guarded by marks)
    private volatile Identity primaryIdentity; // null: not known (yet, or the server does not tell)

    private Replicas(Database primary, List<Replica> replicas, Options options, Counter primaryReads, Clock clock) {
        this.primary = primary;
        this.clock = clock;
        Duration bound = options.maxLag().plus(options.sampleEvery());
        this.marksKept = bound.compareTo(MARKS_KEPT_AT_LEAST) > 0 ? bound : MARKS_KEPT_AT_LEAST;
        this.replicas = replicas;
        this.options = options;
        this.primaryReads = primaryReads;
    }

    /**
     * Opens a small pool on each replica, watched by the {@code watch} made for it (given its target and name), whose
     * new connections plan {@code warmup} first ({@link WarmConnections}),
     * samples them every {@code options.sampleEvery()} on {@code scheduler}, telling their lag by {@code clock}, and makes {@code primary}'s nearby
     * reads go through them, under the primary's limits.
     */
    public static Replicas start(Database primary, List<ConnectionTarget> targets, int poolSize, List<Query> warmup, Options options,
                                 QueryLog log, MeterRegistry registry, ScheduledExecutorService scheduler, Clock clock,
                                 BiFunction<ConnectionTarget, String, DatabaseWatch> watch) {
        List<Replica> replicas = new ArrayList<>();
        for (ConnectionTarget target : targets) {
            String name = nameOf(target);
            // A short wait for a connection: a replica that does not give one soon is skipped for the primary. Its own
            // watch refuses the pool at once while the replica is unreachable, and cuts the reads a silent one holds.
            var pool = Database.connect(target, new Database.PoolOptions(poolSize, options.tokenWait().plusMillis(250), 1.0, warmup,
                    primary.limits()).named(POOL_PREFIX + name),
                    log, registry, watch.apply(target, name));
            Replica replica = new Replica(name, pool, readsCounter(registry, name));
            Gauge.builder("parley_replica_lag_seconds", replica, r -> r.answering ? r.lagSeconds : Double.NaN)
                    .description("How far behind the primary the replica is, as Parley samples it "
                            + "(NaN: not answering, or not a standby; parley_replica_standby tells which)")
                    .tag("replica", name).register(registry);
            Gauge.builder("parley_replica_standby", replica, r -> r.standby == null ? Double.NaN : r.standby ? 1 : 0)
                    .description("1 when the replica answers as a standby of the primary, 0 when it answers but is not one "
                            + "(the primary itself, another server, or a standby of another: never read from), "
                            + "NaN while it does not answer")
                    .tag("replica", name).register(registry);
            Gauge.builder("parley_replica_schema_current", replica, r -> r.schemaCurrent == null ? Double.NaN : r.schemaCurrent ? 1 : 0)
                    .description("1 when the replica's database holds this build's schema, 0 when it does not (the URL names "
                            + "another database, or the standby has not replayed the migrations yet: never read from), "
                            + "NaN while it does not answer as a standby")
                    .tag("replica", name).register(registry);
            Gauge.builder("parley_replica_in_rotation", replica, r -> r.answering && r.lagSeconds <= options.maxLag().toMillis() / 1000.0 ? 1 : 0)
                    .description("1 while the replica serves reads: a standby, answering, and within PARLEY_REPLICA_MAX_LAG")
                    .tag("replica", name).register(registry);
            replicas.add(replica);
        }
        var started = new Replicas(primary, List.copyOf(replicas), options, readsCounter(registry, "primary"), clock);
        started.sample();
        long every = options.sampleEvery().toMillis();
        scheduler.scheduleWithFixedDelay(started::sampleLogged, every, every, TimeUnit.MILLISECONDS);
        primary.readFrom(started);
        return started;
    }

    private static Counter readsCounter(MeterRegistry registry, String target) {
        return Counter.builder("parley_db_reads_total")
                .description("Reads that may be served by a replica, by the server that served them (primary or a replica)")
                .tag("target", target).register(registry);
    }

    /**
     * "host:port/database" of the replica, as its metrics and logs name it: two URLs on one server (its other database)
     * are two names.
     */
    static String nameOf(ConnectionTarget target) {
        return target.where();
    }

    public List<State> states() {
        return replicas.stream().map(r -> new State(r.name, inRotation(r), r.lagSeconds, r.problem)).toList();
    }

    /** The primary's current WAL position: what a write answers with as its consistency token. */
    public Lsn primaryPosition() {
        return primary.read(handle -> handle.first(PRIMARY_POSITION, row -> Lsn.parse(row.getString(1))).orElseThrow());
    }

    private void sampleLogged() {
        try {
            sample();
        } catch (RuntimeException e) {
            LOG.warn("sampling the read replicas failed: {}", e.toString());
        }
    }

    /** Notes the primary's position, then reads each replica's. */
    void sample() {
        long now = clock.millis();
        try {
            primaryIdentity = primary.read(handle -> identity(handle, PRIMARY_IDENTITY));
            Lsn position = primaryPosition();
            synchronized (marks) {
                if (marks.isEmpty() || marks.peekLast().lsn().compareTo(position) < 0) {
                    marks.addLast(new Mark(now, position));
                }
                dropMarksOlderThan(now - marksKept.toMillis());
                positionReadAt = now;
            }
        } catch (RuntimeException e) {
            // The primary is down: its watch says so; the replicas keep their last lag until it is back.
        }
        for (Replica replica : replicas) {
            sample(replica, now);
        }
    }

    private record Sampled(boolean inRecovery, String replayed, String schemaVersion, Identity identity) {
    }

    private void sample(Replica replica, long now) {
        boolean was = inRotation(replica);
        String unfit = null; // why it may not serve though it answers
        try {
            Sampled sampled = replica.pool.read(Replicas::sampled);
            replica.standby = sampled.inRecovery();
            replica.schemaCurrent = sampled.inRecovery() ? schemaCurrent(sampled.schemaVersion()) : null;
            Lsn replayed = sampled.replayed() == null ? null : Lsn.parse(sampled.replayed());
            String notOurs = sampled.inRecovery() ? notOurs(sampled.identity(), replayed) : null;
            if (!sampled.inRecovery()) {
                unfit = "not a standby: pg_is_in_recovery() is false there (the primary itself, or another server)";
            } else if (notOurs != null) {
                unfit = notOurs;
                replica.standby = false;
                replica.schemaCurrent = null;
            } else if (!replica.schemaCurrent) {
                unfit = sampled.schemaVersion() == null
                        ? "not Parley's database: it holds no flyway_schema_history (the URL names another database)"
                        : "behind this build's schema: at version " + sampled.schemaVersion() + ", this build needs "
                                + options.schemaVersion();
            } else if (sampled.replayed() == null) {
                replica.answering = false;
                replica.problem = "a standby that has replayed nothing yet";
            } else {
                replica.replayed = replayed;
                replica.lagSeconds = lagOf(replica.replayed, now);
                replica.holdsUpTo = holdsUpTo(replica.replayed);
                replica.answering = true;
                replica.problem = null;
            }
        } catch (RuntimeException e) {
            replica.answering = false;
            replica.standby = null;
            replica.schemaCurrent = null;
            replica.problem = DatabaseWatch.rootMessage(e);
        }
        if (unfit != null) {
            replica.answering = false;
            replica.problem = unfit;
        }
        boolean toldNow = tellUnfit(replica, unfit);
        boolean is = inRotation(replica);
        if (was == is || toldNow) {
            return;
        }
        String why = replica.problem != null ? replica.problem : "lag " + Math.round(replica.lagSeconds * 1000) + " ms";
        if (!is) {
            LOG.warn("read replica {} is out of rotation ({})", replica.name, why);
        } else { // a replica's first entry, at the start or later, is no news of a fault
            LOG.info("read replica {} is {} rotation ({})", replica.name, replica.served ? "back in" : "in", why);
        }
        replica.served |= is;
    }

    private static Sampled sampled(Handle handle) throws java.sql.SQLException {
        record Row(boolean inRecovery, String replayed, boolean hasHistory) {
        }
        Row row = handle.first(SAMPLE, r -> new Row(r.getBoolean(1), r.getString(2), r.getBoolean(3))).orElseThrow();
        String version = row.hasHistory() ? handle.first(SCHEMA, r -> r.getString(1)).orElse(null) : null;
        return new Sampled(row.inRecovery(), row.replayed(), version, identity(handle, STANDBY_IDENTITY));
    }

    private static Identity identity(Handle handle, Query query) throws java.sql.SQLException {
        try {
            return handle.first(query, row -> new Identity(row.getString(1), row.getInt(2))).orElseThrow();
        } catch (java.sql.SQLException e) {
            if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                throw e;
            }
            return null;
        }
    }

    /**
     * Why a standby does not stream from this primary, or null: another server's system identifier, a later timeline
     * (the standby of a promoted former standby, say), or a position past the primary's own, which no standby of it has.
     */
    private String notOurs(Identity standby, Lsn replayed) {
        String other = notOurs(primaryIdentity, standby);
        if (other != null) {
            return other;
        }
        if (replayed != null && aheadOfThePrimary(replayed)) {
            return "a standby of another server: it has replayed to " + replayed + ", past the primary's current position";
        }
        return null;
    }

    /**
     * Why {@code standby}'s WAL is not {@code primary}'s, or null (also when either is unknown). A standby on an earlier
     * timeline is the primary's until it catches up (after a failover, before it follows the new timeline, or where only
     * its restartpoint's timeline is visible); a later one is a promoted server's, never this primary's.
     */
    static String notOurs(Identity primary, Identity standby) {
        if (standby == null || primary == null) {
            return null;
        }
        if (!standby.system().equals(primary.system())) {
            return "a standby of another server: its system identifier is " + standby.system() + ", the primary's "
                    + primary.system();
        }
        if (standby.timeline() > primary.timeline()) {
            return "a standby of another server: it is on timeline " + standby.timeline() + ", past the primary's "
                    + primary.timeline() + " (it follows a promoted standby)";
        }
        return null;
    }

    /** Whether {@code replayed} is past the primary's position, read again after the replica's (which it may have passed). */
    private boolean aheadOfThePrimary(Lsn replayed) {
        synchronized (marks) {
            if (marks.isEmpty() || marks.peekLast().lsn().compareTo(replayed) >= 0) {
                return false;
            }
        }
        try {
            return primaryPosition().compareTo(replayed) < 0;
        } catch (RuntimeException e) {
            return false; // the primary is down: its watch says so, and this is asked again at the next sample
        }
    }

    private boolean schemaCurrent(String version) {
        return version != null && (options.schemaVersion() == null
                || MigrationVersion.fromVersion(version).compareTo(MigrationVersion.fromVersion(options.schemaVersion())) >= 0);
    }

    /**
     * Logs once why a replica that answers may not serve (until the reason changes, or it is found fit); true when this
     * sample told it.
     */
    private static boolean tellUnfit(Replica replica, String unfit) {
        if (unfit == null) {
            if (replica.standby != null) { // answered, and fit: a later misfit is news again
                replica.told = null;
            }
            return false;
        }
        if (unfit.equals(replica.told)) {
            return false;
        }
        replica.told = unfit;
        LOG.warn("read replica {} is {}; Parley will not read from it, its reads go to the primary", replica.name, unfit);
        return true;
    }

    /**
     * Drops the marks before {@code oldest} but the newest of them: a replica behind every mark kept is then behind one
     * at least that old, so its lag reads at least {@code marksKept} (guarded by marks).
     */
    private void dropMarksOlderThan(long oldest) {
        while (marks.size() > 1 && secondMark().millis() <= oldest) {
            marks.removeFirst();
        }
    }

    private Mark secondMark() {
        var iterator = marks.iterator();
        iterator.next();
        return iterator.next();
    }

    /** Seconds since the primary first held WAL past {@code replayed}; 0 when it held none at the last sample. */
    private double lagOf(Lsn replayed, long now) {
        synchronized (marks) {
            Mark oldestAhead = null; // marks are in the order of their positions: read from the newest, a few for a replica near
            for (var newestFirst = marks.descendingIterator(); newestFirst.hasNext(); ) { // it, with hours of them kept
                Mark mark = newestFirst.next();
                if (mark.lsn().compareTo(replayed) <= 0) {
                    break;
                }
                oldestAhead = mark;
            }
            return oldestAhead == null ? 0 : (now - oldestAhead.millis()) / 1e3;
        }
    }

    /**
     * When the primary last held no more than {@code replayed}, by the marks: everything committed by then is replayed.
     * When it has replayed all the primary held when its position was last read, then; never when it is behind every
     * mark kept (guarded by marks).
     */
    private long holdsUpTo(Lsn replayed) {
        synchronized (marks) {
            boolean newest = true;
            for (var newestFirst = marks.descendingIterator(); newestFirst.hasNext(); newest = false) { // as lagOf reads them
                Mark mark = newestFirst.next();
                if (mark.lsn().compareTo(replayed) <= 0) {
                    return newest ? Math.max(mark.millis(), positionReadAt) : mark.millis();
                }
            }
            return newest ? positionReadAt : Long.MIN_VALUE;
        }
    }

    private boolean inRotation(Replica replica) {
        return replica.answering && replica.lagSeconds <= options.maxLag().toNanos() / 1e9;
    }

    /**
     * The answer to {@code work} (in a transaction when {@code inTransaction}) from a replica that may serve
     * this thread's read, or null: read the primary.
     */
    <T> Served<T> read(SqlWork<T> work, boolean inTransaction) {
        return read(work, inTransaction, null);
    }

    /**
     * As {@link #read(SqlWork, boolean)}, from a replica that holds every write made by {@code written} (and
     * {@link #SETTLE} after it), when that is given.
     */
    <T> Served<T> read(SqlWork<T> work, boolean inTransaction, Instant written) {
        Lsn after = Consistency.after();
        long holding = written == null ? Long.MIN_VALUE : written.plus(SETTLE).toEpochMilli();
        Replica replica = Consistency.primaryOnly() ? null : choose(after, holding);
        if (replica != null) {
            try {
                SqlWork<Served<T>> served = handle -> caughtUp(handle, after) ? new Served<>(work.run(handle)) : null;
                Served<T> answer = inTransaction ? replica.pool.inTransaction(served) : replica.pool.read(served);
                if (answer != null) {
                    replica.reads.increment();
                    return answer;
                }
            } catch (DatabaseUnavailable | PoolSaturated e) {
                replica.answering = false; // until the next sample finds it back
                replica.problem = DatabaseWatch.rootMessage(e);
                LOG.warn("read replica {} failed a read, which the primary serves instead: {}", replica.name, replica.problem);
            } catch (DatabaseFailure e) {
                if (theRequests(e)) {
                    throw e;
                }
                // A conflict with recovery is a standby's normal hazard. Another failure may be one statement's (a program's
                // mistake, an unlogged table): the replica stays in rotation for every other read, the samples decide
                // whether it is fit, and the log says it once a reason, not once a request.
                String failure = e.getMessage();
                if (!CONFLICT_WITH_RECOVERY.equals(e.sqlState()) && !failure.equals(replica.failedRead.getAndSet(failure))) {
                    LOG.warn("read replica {} failed a read, which the primary serves instead: {}", replica.name, failure);
                }
            }
        }
        primaryReads.increment();
        return null;
    }

    /**
     * Whether a replica's failed read failed for the request's own reason, which the primary would give too: bad data
     * (class 22), a constraint (23), a program limit (54), or its statement timeout (57014). Any other (its schema
     * differs, it is read-only, it ran out of something, it was shut down) is the replica's, and the primary answers.
     */
    private static boolean theRequests(DatabaseFailure e) {
        String state = e.sqlState() == null ? "" : e.sqlState();
        return state.startsWith("22") || state.startsWith("23") || state.startsWith("54") || state.equals("57014");
    }

    /**
     * A replica in rotation that holds the writes made by {@code holding} (by the last sample), taking turns; for a
     * read after a write, one that has replayed past it if any (by the last sample), else any such, which the read then
     * waits on.
     */
    private Replica choose(Lsn after, long holding) {
        int size = replicas.size();
        int start = Math.floorMod(turn.getAndIncrement(), Math.max(1, size));
        Replica fallback = null;
        for (int i = 0; i < size; i++) {
            Replica replica = replicas.get((start + i) % size);
            if (!inRotation(replica) || replica.holdsUpTo < holding) {
                continue;
            }
            if (after == null || (replica.replayed != null && replica.replayed.compareTo(after) >= 0)) {
                return replica;
            }
            if (fallback == null) {
                fallback = replica;
            }
        }
        return fallback;
    }

    /** Whether the replica has replayed past {@code after}, waiting for it at most {@code options.tokenWait()}. */
    private boolean caughtUp(Handle handle, Lsn after) throws java.sql.SQLException {
        if (after == null) {
            return true;
        }
        long deadline = System.nanoTime() + options.tokenWait().toNanos();
        while (true) {
            String replayed = handle.first(REPLAYED, row -> row.getString(1)).orElse(null);
            if (replayed != null && Lsn.parse(replayed).compareTo(after) >= 0) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(CATCH_UP_POLL_NANOS);
        }
    }

    @Override
    public void close() {
        replicas.forEach(replica -> replica.pool.close());
    }
}
