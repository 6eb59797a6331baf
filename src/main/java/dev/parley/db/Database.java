package dev.parley.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import com.zaxxer.hikari.util.DriverDataSource;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The connection pool and the two ways to use it: {@link #read} (autocommit, one connection)
 * and {@link #inTransaction} (commit on success, roll back on any failure). Failures reach callers
 * as {@link PoolSaturated}, {@link DatabaseUnavailable} or {@link DatabaseFailure}.
 *
 * <p>Callers take turns for a connection ({@link Turns}): first come first served within an app,
 * round robin between apps, each app holding at most its share of the pool. HikariCP alone hands a
 * returned connection to whoever asks next, so with more threads than connections some waited
 * seconds while others never did (p99 4.6 s and max 8.2 s for "last 50 messages" with 32 threads on
 * 10 connections, parley bench); a plain queue let one app's search storm delay another app's
 * trivial read from 11 ms to 2 s. A caller that cannot be served before the pool timeout is refused
 * at once, and while the {@link DatabaseWatch} finds the database unreachable every caller is; the connections in
 * use when it finds it so are aborted ({@link #abortInFlight}).
 */
public final class Database implements AutoCloseable {
    /** The name of the pool requests use, as HikariCP's meters label it ({@code pool="parley"}); the default. */
    public static final String REQUEST_POOL = "parley";

    /**
     * How many connections, how long a caller may wait for one, the share of them one app may hold, the
     * statements each new connection plans before it is handed out ({@link WarmConnections}; none: it starts cold),
     * the limits its work runs under ({@link Limits#NONE} for background work and commands), and the pool's name, which
     * labels HikariCP's meters of it and its log lines.
     */
    public record PoolOptions(int size, Duration timeout, double appShare, List<Query> warmup, Limits limits, String name) {
        public PoolOptions {
            if (!(appShare > 0 && appShare <= 1)) {
                throw new IllegalArgumentException("appShare is a fraction of the pool in (0, 1], got " + appShare);
            }
            warmup = List.copyOf(warmup);
        }

        public PoolOptions(int size, Duration timeout, double appShare, List<Query> warmup, Limits limits) {
            this(size, timeout, appShare, warmup, limits, REQUEST_POOL);
        }

        public PoolOptions(int size, Duration timeout, double appShare) {
            this(size, timeout, appShare, List.of(), Limits.NONE);
        }

        /** These options for a pool named {@code name}: two pools of one name would share their meters. */
        public PoolOptions named(String name) {
            return new PoolOptions(size, timeout, appShare, warmup, limits, name);
        }

        int laneCap() {
            return (int) Math.ceil(size * appShare);
        }
    }

    /**
     * What a connection's statements may take: PostgreSQL cancels a statement past {@code statementTimeout} (57014)
     * and a lock wait past {@code lockTimeout} (55P03). Null durations are left to the server's own settings: through a
     * PgBouncer in transaction mode a session setting would stay on whichever server connection ran it. No socket
     * timeout: a server that says nothing at all is the watch's to cut ({@link #abortInFlight}).
     */
    public record Limits(Duration statementTimeout, Duration lockTimeout) {
        /** No limits: work that may rightly run for minutes or wait on locks (maintenance, commands). */
        public static final Limits NONE = new Limits(null, null);

        /**
         * The SETs each new connection runs once, or null: by SQL rather than pgjdbc's {@code options} startup
         * parameter, which PgBouncer refuses at connect unless told to ignore it.
         */
        String sessionSql() {
            String sql = (statementTimeout == null ? "" : "SET statement_timeout = " + statementTimeout.toMillis() + "; ")
                    + (lockTimeout == null ? "" : "SET lock_timeout = " + lockTimeout.toMillis());
            return sql.isEmpty() ? null : sql.strip();
        }
    }

    private final HikariDataSource pool;
    private final QueryLog log;
    private final Turns turns;
    private final long timeoutNanos;
    private final DatabaseWatch watch; // null: nothing watches (commands, tests); callers wait out outages
    private volatile Runnable countRejection = () -> { }; // see publishTurns
    private final Limits limits;
    private final Set<Connection> lent = ConcurrentHashMap.newKeySet(); // borrowed and not yet returned
    private volatile Replicas replicas; // null: every read is this pool's

    private Database(HikariDataSource pool, QueryLog log, Turns turns, long timeoutNanos, DatabaseWatch watch, Limits limits) {
        this.pool = pool;
        this.log = log;
        this.turns = turns;
        this.timeoutNanos = timeoutNanos;
        this.watch = watch;
        this.limits = limits;
    }

    /** A pool of {@code size} connections that waits at most {@code timeout} for a free one, shared alike by all. */
    public static Database connect(ConnectionTarget target, int size, Duration timeout, QueryLog log,
                                   MeterRegistry registry) {
        return connect(target, new PoolOptions(size, timeout, 1.0), log, registry, null);
    }

    /**
     * A pool as {@code options} say, HikariCP's meters of it in {@code registry} (null: none) under its name; with a
     * {@code watch}, callers are refused at once while the database is unreachable, and those in flight when the watch
     * loses it are cut.
     */
    public static Database connect(ConnectionTarget target, PoolOptions options, QueryLog log, MeterRegistry registry,
                                   DatabaseWatch watch) {
        var config = new HikariConfig();
        config.setPoolName(options.name());
        config.setUsername(target.user());
        config.setPassword(target.password());
        config.setMaximumPoolSize(options.size());
        config.setMinimumIdle(options.size()); // a fixed-size pool: no connection storms under spikes
        config.setConnectionTimeout(options.timeout().toMillis());
        config.setInitializationFailTimeout(-1); // start even if the database is down; requests get 503 until it is back
        var properties = new Properties();
        properties.setProperty("ApplicationName", "parley");
        properties.setProperty("reWriteBatchedInserts", "true");
        config.setConnectionInitSql(options.limits().sessionSql());
        DataSource connections = new DriverDataSource(target.jdbcUrl(), null, properties, target.user(), target.password());
        config.setDataSource(options.warmup().isEmpty() ? connections : new WarmConnections(connections, options.warmup()));
        var turns = new Turns(options.size(), options.laneCap(), System::nanoTime);
        if (registry != null) {
            config.setMetricRegistry(registry);
        }
        var database = new Database(new HikariDataSource(config), log, turns, options.timeout().toNanos(), watch, options.limits());
        if (watch != null) {
            watch.whenUnreachable(database::abortInFlight);
        }
        return database;
    }

    /**
     * Publishes how many callers wait their turn for a connection (parley_pool_waiting) and counts those refused for want
     * of one (parley_pool_rejected_total{resource="connections"}): for the request pool alone, whose callers are requests.
     * Another pool's would count under the same names, its waits then read as requests' (a registry gives the meter
     * already there for a name and tags).
     */
    public void publishTurns(MeterRegistry registry) {
        Counter rejected = Counter.builder(Metrics.POOL_REJECTED).description(Metrics.POOL_REJECTED_HELP)
                .tag(Metrics.POOL_REJECTED_RESOURCE, "connections").register(registry);
        countRejection = rejected::increment;
        // Callers queue in turns, before HikariCP: its pending gauge stays 0 however many wait.
        for (boolean atShare : new boolean[] {true, false}) {
            Gauge.builder(Metrics.POOL_WAITING, turns, t -> t.waiting(atShare)).description(Metrics.POOL_WAITING_HELP)
                    .tag("waiting_for", atShare ? "app_share" : "connection").strongReference(true).register(registry);
        }
    }

    /**
     * A read that a read replica may serve (history, inbox, search, recall, stats, analytics): one in
     * rotation that has replayed past the client's last write when the request says which
     * ({@link Consistency}), else this pool. Without replicas, the same as {@link #read}.
     */
    public <T> T readNearby(SqlWork<T> work) {
        return readNearbyHolding(null, work);
    }

    /**
     * As {@link #readNearby}, for a page after a cursor whose row was written at {@code written}: a replica serves it
     * only once it holds every write made by then, so that paging on from a page the primary served (a cached first
     * page) neither skips rows the replica lacks nor repeats ones that moved. A null {@code written} asks nothing of it.
     */
    public <T> T readNearbyHolding(Instant written, SqlWork<T> work) {
        Replicas nearby = replicas;
        Replicas.Served<T> served = nearby == null ? null : nearby.read(work, false, written);
        return served != null ? served.value() : read(work);
    }

    /** As {@link #readNearby}, in one transaction (reads that set LOCAL settings, or need one snapshot). */
    public <T> T inTransactionNearby(SqlWork<T> work) {
        Replicas nearby = replicas;
        Replicas.Served<T> served = nearby == null ? null : nearby.read(work, true);
        return served != null ? served.value() : inTransaction(work);
    }

    /** Sends {@link #readNearby} reads to these replicas from now on. */
    void readFrom(Replicas nearby) {
        this.replicas = nearby;
    }

    public <T> T read(SqlWork<T> work) {
        Long lane = Lane.current();
        long takenAt = takeTurn(lane);
        try (Loan loan = borrow()) {
            return work.run(new Handle(loan.connection(), log));
        } catch (SQLException e) {
            throw translate(e);
        } finally {
            turns.give(lane, takenAt);
        }
    }

    public <T> T inTransaction(SqlWork<T> work) {
        Long lane = Lane.current();
        long takenAt = takeTurn(lane);
        try (Loan loan = borrow()) {
            Connection connection = loan.connection();
            connection.setAutoCommit(false);
            try {
                T result = work.run(new Handle(connection, log));
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException | Error e) {
                rollbackQuietly(connection, e);
                throw e;
            } // the pool restores autocommit when the connection comes back
        } catch (SQLException e) {
            throw translate(e);
        } finally {
            turns.give(lane, takenAt);
        }
    }

    /** Waits for this lane's turn, for at most the pool timeout; returns when the turn began. */
    private long takeTurn(Long lane) {
        refuseWhileUnreachable();
        try {
            long takenAt = turns.take(lane, System.nanoTime() + timeoutNanos, timeoutNanos / 1_000_000);
            if (watch != null && !watch.reachable()) { // it went away while we waited
                turns.give(lane, takenAt);
                refuseWhileUnreachable();
            }
            return takenAt;
        } catch (Turns.Refused refused) {
            countRejection.run();
            throw new PoolSaturated(refused.getMessage(), poolState(), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PoolSaturated("interrupted while waiting for a database connection", poolState(), e);
        }
    }

    private void refuseWhileUnreachable() {
        if (watch != null && !watch.reachable()) {
            DatabaseWatch.State state = watch.state();
            throw new DatabaseUnavailable(state.problem() + " (since " + state.since() + "); Parley checks again every " + DatabaseWatch.DOWN_INTERVAL.toMillis()
                    + " ms and serves again as soon as it answers", null);
        }
    }

    /** The limits this pool's connections run under, which its replicas' pools take too. */
    Limits limits() {
        return limits;
    }

    public DataSource dataSource() {
        return pool;
    }


    /**
     * Returns once the pool can lend {@code count} connections at once, waiting up to {@code wait} while they are still
     * being made: for a start, where a database just started on a busy host, or one with hundreds of partitions to plan
     * against ({@link WarmConnections}), may take longer than a request's pool timeout to give its first connections. A
     * database that refuses connections fails at once ({@link DatabaseUnavailable}), as a request would; one still slow
     * after {@code wait}, with {@link PoolSaturated}.
     */
    public void awaitConnections(int count, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        List<Connection> held = new ArrayList<>();
        try {
            while (held.size() < count) {
                try {
                    held.add(pool.getConnection());
                } catch (SQLTransientConnectionException e) {
                    if (isDown(e.getCause())) {
                        throw new DatabaseUnavailable("the database is not reachable: " + rootMessage(e), e);
                    }
                    SQLException full = noRoom(e.getCause());
                    if (full != null) { // waiting on would only name the wrong cause, a minute later
                        throw new PoolSaturated("PostgreSQL refuses this instance's connections", poolState(), noRoomAdvice(full), e);
                    }
                    if (System.nanoTime() - deadline >= 0) {
                        throw new PoolSaturated("no database connection was made within " + wait.toMillis() + " ms",
                                poolState(), "the database accepts connections but is slow to complete them: see its log", e);
                    }
                } catch (SQLException e) {
                    throw translate(e);
                }
            }
        } finally {
            for (Connection connection : held) {
                try {
                    connection.close();
                } catch (SQLException broken) {
                    // the pool drops a broken connection and makes another
                }
            }
        }
    }

    /** "total=10, active=10, idle=0; free=0 of 10, waiting=42 ...": the pool state an operator needs when it is saturated. */
    public String poolState() {
        HikariPoolMXBean bean = pool.getHikariPoolMXBean();
        if (bean == null) {
            return "pool not started";
        }
        return "total=" + bean.getTotalConnections() + ", active=" + bean.getActiveConnections()
                + ", idle=" + bean.getIdleConnections() + "; " + turns.state();
    }

    /**
     * Aborts every connection lent out now: each caller's wait on its server ends at once as a connection failure
     * ({@link DatabaseUnavailable}, or an unconfirmed commit), and the pool replaces the connection. For a server that
     * stopped answering, which no timeout of PostgreSQL's can cut: a socket timeout would, but it makes every read of
     * pgjdbc's a timed one, about 70 µs of CPU a request (docs/benchmarks.md), where keeping this set costs next to none.
     */
    public void abortInFlight() {
        for (Connection connection : lent) {
            try {
                connection.abort(Runnable::run); // closes the socket, which ends a read blocked on it
            } catch (SQLException alreadyClosed) {
                // returned meanwhile, or broken already: nothing waits on it
            }
        }
    }

    /** A connection lent to one caller, which {@link #abortInFlight} can reach until it is returned. */
    private record Loan(Connection connection, Set<Connection> lent) implements AutoCloseable {
        @Override
        public void close() throws SQLException {
            lent.remove(connection);
            connection.close();
        }
    }

    private Loan borrow() throws SQLException {
        Connection connection = take();
        lent.add(connection);
        return new Loan(connection, lent);
    }

    private Connection take() throws SQLException {
        try {
            return pool.getConnection();
        } catch (SQLTransientConnectionException e) {
            if (isDown(e.getCause())) {
                suspectOutage(e);
                throw new DatabaseUnavailable("the database is not reachable: " + rootMessage(e), e);
            }
            countRejection.run();
            SQLException full = noRoom(e.getCause());
            throw full == null
                    ? new PoolSaturated("no database connection came free within " + pool.getConnectionTimeout() + " ms", poolState(), e)
                    : new PoolSaturated("no database connection came free within " + pool.getConnectionTimeout() + " ms",
                            poolState(), noRoomAdvice(full), e);
        }
    }

    /**
     * PostgreSQL's refusal of a new connection for want of room (53300: max_connections, or the role's or database's
     * CONNECTION LIMIT), if that is why none was made: raising PARLEY_POOL_SIZE, the usual advice, would make it worse.
     */
    private static SQLException noRoom(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && "53300".equals(sql.getSQLState())) {
                return sql;
            }
        }
        return null;
    }

    private static String noRoomAdvice(SQLException full) {
        return "PostgreSQL has no room for more (" + full.getMessage().lines().findFirst().orElse("").strip() + "): raise its "
                + "max_connections or the role's or database's CONNECTION LIMIT, or lower PARLEY_POOL_SIZE (each instance "
                + "holds up to that many)";
    }

    private RuntimeException translate(SQLException e) {
        if (isDown(e)) {
            suspectOutage(e);
            return new DatabaseUnavailable("lost the database connection: " + rootMessage(e), e);
        }
        return new DatabaseFailure(e);
    }

    /** Connection failures (class 08) and server shutdowns (57P01..57P03) are outages, not bugs. */
    private static boolean isDown(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Lets the watch confirm the outage, and drops idle connections, which died with the server. */
    private void suspectOutage(SQLException e) {
        if (watch != null) {
            watch.suspect(e);
        }
        HikariPoolMXBean bean = pool.getHikariPoolMXBean();
        if (bean != null) {
            bean.softEvictConnections();
        }
    }

    private static String rootMessage(Throwable t) {
        return DatabaseWatch.rootMessage(t);
    }

    private static void rollbackQuietly(Connection connection, Throwable cause) {
        try {
            connection.rollback();
        } catch (SQLException rollbackFailure) {
            cause.addSuppressed(rollbackFailure);
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
