package dev.parley;

import dev.parley.config.DatabaseUrl;
import dev.parley.config.Settings;
import dev.parley.db.ConnectionCheck;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.QueryLog;
import dev.parley.db.LocalPostgres;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The database a command works on: the one DATABASE_URL names, or the embedded one (started or attached).
 * Commands connect to PARLEY_DIRECT_DATABASE_URL when it is set: they keep state in their session (the
 * doctor's timeouts, Flyway's lock, the retention lock), which a PgBouncer in transaction mode would not keep.
 */
public final class Storage implements AutoCloseable {
    private final LocalPostgres local; // null when DATABASE_URL is used
    private final ScheduledExecutorService supervision; // restarts the embedded PostgreSQL; null when DATABASE_URL is used
    private final ConnectionTarget target;
    private final ConnectionTarget direct; // PostgreSQL itself, when DATABASE_URL may go through PgBouncer; else target
    private Thread stopOnExit; // forCommand's hook, removed by close(); null for the server, which drains first

    private Storage(LocalPostgres local, ScheduledExecutorService supervision, ConnectionTarget target, ConnectionTarget direct) {
        this.local = local;
        this.supervision = supervision;
        this.target = target;
        this.direct = direct;
    }

    public static Storage open(Settings settings) {
        if (settings.databaseUrl().isPresent()) {
            ConnectionTarget target = target(settings.databaseUrl().get());
            return new Storage(null, null, target, settings.directDatabaseUrl().map(Storage::target).orElse(target));
        }
        LocalPostgres local = LocalPostgres.startOrAttach(settings.dataDir(), LocalPostgres.durable(), settings.embeddedPort());
        ScheduledExecutorService supervision = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("parley-postgres-supervisor").daemon().factory());
        return new Storage(local.supervise(supervision, Clock.systemUTC()), supervision, local.target(), local.target());
    }

    /**
     * As {@link #open}, for a command rather than the server, on a database that exists: a data folder without one is
     * refused ({@link NoDatabase}), as a mistyped --data-dir would otherwise give a new, empty database, found healthy,
     * current or empty by the command. Should the process be stopped (Ctrl-C, SIGTERM) before it closes this, the
     * embedded PostgreSQL it started is stopped as {@link #close} stops it (a fast shutdown), not left running with no
     * Parley to stop it. The server has its own hook, which drains its work first.
     */
    public static Storage forCommand(Settings settings) {
        if (wouldMake(settings)) {
            throw new NoDatabase(settings.dataDir());
        }
        return forCommandMaking(settings);
    }

    /** What a command that made the embedded database says, so that a mistyped --data-dir is seen. */
    public static String made(Settings settings) {
        return "Made a new embedded database in " + settings.dataDir() + ".";
    }

    /** Whether opening {@code settings}' database makes a new one: the embedded one, in a data folder without it. */
    public static boolean wouldMake(Settings settings) {
        return settings.databaseUrl().isEmpty() && !LocalPostgres.holdsDatabase(settings.dataDir());
    }

    /** As {@link #forCommand}, making the embedded database if the data folder has none: for commands that set one up. */
    public static Storage forCommandMaking(Settings settings) {
        Storage storage = open(settings);
        if (storage.local != null) {
            storage.stopOnExit = Thread.ofPlatform().name("parley-postgres-stop").unstarted(storage::close);
            Runtime.getRuntime().addShutdownHook(storage.stopOnExit);
        }
        return storage;
    }

    /** A command that works on an existing database was pointed at a data folder without one: a usage error (exit 2). */
    public static final class NoDatabase extends RuntimeException {
        NoDatabase(java.nio.file.Path dataDir) {
            super("no Parley database in " + dataDir + " (no " + dataDir.resolve("pg") + "): check --data-dir "
                    + "(PARLEY_DATA_DIR), or --database-url (DATABASE_URL) for a PostgreSQL server; parley serve makes one "
                    + "in a new folder");
        }
    }

    static ConnectionTarget target(DatabaseUrl url) {
        return new ConnectionTarget(url.jdbcUrl(), url.user(), url.password());
    }

    /** Two connections for an operator command that runs some statements and exits. */
    public Database connect() {
        return connect(2, Duration.ofSeconds(10));
    }

    /**
     * A pool without metrics, for a command rather than a server; slow queries are not logged. The database
     * is tried first, so a wrong URL fails within seconds and says what is wrong.
     */
    public Database connect(int poolSize, Duration timeout) {
        ConnectionCheck.require(direct);
        return Database.connect(direct, poolSize, timeout, QueryLog.quiet(), null);
    }

    /** Where the server's request pool connects: DATABASE_URL, or the embedded PostgreSQL. */
    public ConnectionTarget target() {
        return target;
    }

    public boolean embedded() {
        return local != null;
    }

    public String describe(Settings settings) {
        return embedded() ? "embedded PostgreSQL in " + settings.dataDir().resolve("pg") + " (port " + local.port()
                + ", user postgres, password in " + settings.dataDir().resolve("pg-password") + ")"
                : settings.databaseUrl().orElseThrow().masked() + settings.directDatabaseUrl()
                        .map(url -> " (pgbouncer=" + settings.pgbouncer() + "; sessions, LISTEN and migrations: " + url.masked() + ")")
                        .orElse("");
    }

    @Override
    public void close() {
        if (stopOnExit != null && Thread.currentThread() != stopOnExit) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs, or has: closing twice stops nothing twice
            }
        }
        if (local != null) {
            local.close();
            supervision.shutdownNow();
        }
    }
}
