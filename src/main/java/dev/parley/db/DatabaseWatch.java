package dev.parley.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.api.MigrationVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether PostgreSQL answers, known without borrowing from the request pool: a connection of its own
 * runs one tiny query every {@link #UP_INTERVAL} (every {@link #DOWN_INTERVAL} while the database is
 * unreachable). While it is unreachable, {@link Database} refuses requests at once instead of letting
 * each wait for the pool timeout; the first probe that connects again opens the way. A probe that cannot reach it
 * at all also cuts the connections in use ({@link #whenUnreachable}), which a silent server would hold.
 */
public final class DatabaseWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseWatch.class);
    static final Duration UP_INTERVAL = Duration.ofSeconds(1);
    static final Duration DOWN_INTERVAL = Duration.ofMillis(200);
    private static final int TIMEOUT_SECONDS = 2;

    // The newest schema version applied: readiness needs this build's migrations to be in place.
    private static final String PROBE = """
            SELECT (SELECT version FROM flyway_schema_history WHERE success AND version IS NOT NULL
                     ORDER BY installed_rank DESC LIMIT 1)""";

    /**
     * What the last probe found. {@code since} is when the database last became reachable or unreachable;
     * {@code schemaCurrent} is whether every migration of this build is applied; {@code problem} says what is wrong.
     */
    public record State(boolean reachable, Instant since, boolean schemaCurrent, String problem) {
    }

    private final ConnectionTarget target;
    private final String name; // for the log: "the database", or a read replica's
    private final String meanwhile; // what callers get while it is unreachable, for the log
    private volatile MigrationVersion requiredSchema; // null until known: no schema check
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private volatile State state;
    private volatile boolean closed;
    private final List<Runnable> cuts = new CopyOnWriteArrayList<>(); // run when a probe cannot reach the database
    private Connection connection; // touched by the scheduler's one thread only

    /** Starts probing the primary on {@code scheduler}, which must run one task at a time. */
    public DatabaseWatch(ConnectionTarget target, ScheduledExecutorService scheduler, Clock clock) {
        this(target, "the database", "requests are refused with 503", scheduler, clock);
    }

    /** The same for a read replica: while it is unreachable its reads go to the primary, and those in flight are cut. */
    public static DatabaseWatch ofReplica(ConnectionTarget target, String name, ScheduledExecutorService scheduler, Clock clock) {
        return new DatabaseWatch(target, "read replica " + name, "its reads go to the primary", scheduler, clock);
    }

    private DatabaseWatch(ConnectionTarget target, String name, String meanwhile, ScheduledExecutorService scheduler,
                          Clock clock) {
        this.target = target;
        this.name = name;
        this.meanwhile = meanwhile;
        this.scheduler = scheduler;
        this.clock = clock;
        this.state = new State(true, clock.instant(), true, null);
        scheduler.execute(this::probe);
    }

    /** From now on the schema counts as current only at {@code version} (this build's newest migration) or later. */
    public void requireSchema(String version) {
        requiredSchema = MigrationVersion.fromVersion(version);
    }

    /**
     * Runs {@code cut} on the watch's thread after each probe that could not reach the database (a connection failure,
     * SQLSTATE class 08: refused, reset, or silent past the probe's timeout), to end the waits on it that no timeout of
     * PostgreSQL's can. Not after a probe PostgreSQL answered with an error: that server is there.
     */
    public void whenUnreachable(Runnable cut) {
        cuts.add(cut);
    }

    public State state() {
        return state;
    }

    public boolean reachable() {
        return state.reachable();
    }

    /** A request just lost its connection or could not get one: believe it, and probe at once. */
    void suspect(Throwable cause) {
        if (state.reachable() && !closed) {
            markUnreachable(rootMessage(cause));
            scheduler.execute(this::probe);
        }
    }

    private void probe() {
        if (closed) {
            return;
        }
        try {
            String applied = schemaVersion();
            MigrationVersion required = requiredSchema;
            boolean current = required == null
                    || applied != null && MigrationVersion.fromVersion(applied).compareTo(required) >= 0;
            String problem = current ? null : "the database's schema is at version " + applied + ", this build needs "
                    + required + ": run 'parley migrate'";
            if (!state.reachable()) {
                LOG.info("{} answers again after {} ms", name, Duration.between(state.since(), clock.instant()).toMillis());
                state = new State(true, clock.instant(), current, problem);
            } else {
                state = new State(true, state.since(), current, problem);
            }
        } catch (SQLException e) {
            closeConnection();
            if (state.reachable()) {
                markUnreachable(rootMessage(e));
            } else { // what is wrong now, which may not be what began it (sessions cut, then connections refused)
                state = new State(false, state.since(), state.schemaCurrent(), name + " is unreachable: " + rootMessage(e));
            }
            if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                cuts.forEach(Runnable::run);
            }
        } finally {
            if (!closed) {
                scheduler.schedule(this::probe, (state.reachable() ? UP_INTERVAL : DOWN_INTERVAL).toMillis(),
                        TimeUnit.MILLISECONDS);
            }
        }
    }

    private String schemaVersion() throws SQLException {
        if (connection == null) {
            connection = DriverManager.getConnection(target.jdbcUrl(), connectionProperties());
        }
        try (var statement = connection.createStatement()) {
            statement.setQueryTimeout(TIMEOUT_SECONDS);
            try (var rows = statement.executeQuery(PROBE)) {
                return rows.next() ? rows.getString(1) : null;
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) { // no flyway_schema_history yet: reachable, nothing applied
                return null;
            }
            throw e;
        }
    }

    /** Short timeouts: a probe that hangs would leave the state stale. */
    private Properties connectionProperties() {
        Properties properties = target.connectionProperties("parley-watch", TIMEOUT_SECONDS);
        // A server that answers the query's cancel is slow; one that says nothing for a second more is silent. The cancel
        // waits for its own answer (10 s by default) before the probe can fail: a second, or silence is known at 13 s.
        properties.setProperty("socketTimeout", String.valueOf(TIMEOUT_SECONDS + 1));
        properties.setProperty("cancelSignalTimeout", "1");
        return properties;
    }

    private void markUnreachable(String problem) {
        LOG.warn("{} is unreachable ({}); {} until it answers again", name, problem, meanwhile);
        state = new State(false, clock.instant(), state.schemaCurrent(), name + " is unreachable: " + problem);
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // it is broken already; nothing to release
            }
            connection = null;
        }
    }

    /**
     * Why {@code t} happened, for people: its root cause's message. A root without one (PgBouncer closing the
     * connection is an EOFException with none) is named by its class, after the nearest message above it in the
     * chain ("An I/O error occurred while sending to the backend. (EOFException)"): never "null".
     */
    static String rootMessage(Throwable t) {
        var chain = new java.util.ArrayList<Throwable>();
        for (Throwable at = t; at != null && !chain.contains(at); at = at.getCause()) {
            chain.add(at);
        }
        Throwable root = chain.getLast();
        if (hasMessage(root)) {
            return root.getMessage();
        }
        String kind = root.getClass().getSimpleName().isEmpty() ? root.getClass().getName() : root.getClass().getSimpleName();
        for (int i = chain.size() - 2; i >= 0; i--) {
            if (hasMessage(chain.get(i))) {
                return chain.get(i).getMessage() + " (" + kind + ")";
            }
        }
        return kind;
    }

    private static boolean hasMessage(Throwable t) {
        return t.getMessage() != null && !t.getMessage().isBlank();
    }

    @Override
    public void close() {
        closed = true;
        scheduler.execute(this::closeConnection);
    }
}
