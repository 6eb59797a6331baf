package dev.parley.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.commons.io.file.PathUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL (binaries from Maven Central, via zonky) whose data lives in a folder of the
 * user's: {@code <dataDir>/pg}. When another Parley process already runs it, this one attaches to
 * that server instead of starting a second, so {@code parley migrate} works beside {@code parley serve}.
 */
public final class LocalPostgres implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);
    public static final String DATABASE = "parley";

    /**
     * Settings for a store, not a test (throw-away servers turn fsync and synchronous_commit off). The
     * buffer cache takes a sixteenth of the machine's memory (at least 128 MB, at most 2 GB): enough
     * that reads stay in PostgreSQL, modest enough for a laptop that runs other things too. The planner
     * is told half the memory caches data (shared buffers and the kernel's page cache together).
     * Before recovering from a crash PostgreSQL flushes the data folder: one syncfs per file system
     * instead of an fsync per file cut that from 3.9 s to 0.07 s for a new folder on the development machine.
     */
    public static Map<String, String> durable() {
        long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        long sharedBuffersMb = Math.clamp(memory / 16 >> 20, 128, 2048);
        return Map.of(
                "fsync", "on",
                "synchronous_commit", "on",
                "full_page_writes", "on",
                "max_connections", "200",
                "shared_buffers", sharedBuffersMb + "MB",
                "effective_cache_size", Math.max(sharedBuffersMb, memory / 2 >> 20) + "MB",
                "max_wal_size", "4GB",
                "shared_preload_libraries", "pg_stat_statements",
                "track_io_timing", "on",
                "recovery_init_sync_method", "syncfs");
    }

    private final Postmaster postmaster; // this process's, once it starts the server (at once, or on taking it over)
    private final boolean attached; // another process ran the server when this one opened the folder
    private final int port;
    private final String password; // null for a throw-away server, or one an older Parley runs with trust authentication
    private final Path deleteOnClose; // the data folder of a throw-away server, else null
    private Supervisor supervisor; // guarded by this; set by supervise()
    private boolean closed; // guarded by this

    private LocalPostgres(Postmaster postmaster, boolean attached, String password, Path deleteOnClose) {
        this.postmaster = postmaster;
        this.attached = attached;
        this.port = postmaster.port();
        this.password = password;
        this.deleteOnClose = deleteOnClose;
    }

    /**
     * Starts the server in {@code dataDir/pg} on {@code port} (0: any free port), or attaches to the
     * one already running there, whatever its port. It listens on 127.0.0.1 only and asks for the
     * password kept in {@code dataDir/pg-password} (mode 0600), made on first start, as {@code dataDir} is (mode 0700) if
     * missing, and {@code dataDir/postgres.log} (mode 0600); a folder an older
     * Parley made, with trust authentication, gets its password then too.
     *
     * @throws PostgresDidNotStart within seconds when PostgreSQL exits instead of starting, quoting its log
     */
    public static LocalPostgres startOrAttach(Path dataDir, Map<String, String> serverConfig, int port) {
        try {
            OwnerOnly.directory(dataDir); // it holds the database, its password and a log that quotes rows
        } catch (IOException e) {
            throw new PostgresDidNotStart("could not make the data folder " + dataDir + " for the embedded PostgreSQL", e);
        }
        Path pgDir = dataDir.resolve("pg");
        var passwordFile = new PasswordFile(dataDir.resolve("pg-password"));
        Optional<ProcessHandle> running = runningPostmaster(pgDir);
        Optional<Integer> runningPort = running.isPresent() ? runningPort(pgDir) : Optional.empty();
        var postmaster = new Postmaster(PostgresBinaries.unpacked(), pgDir, dataDir.resolve("postgres.log"),
                runningPort.orElse(port == 0 ? freePort() : port), serverConfig);
        if (running.isPresent() && isOrphan(running.get())) {
            LOG.warn("the PostgreSQL in {} was left running by a Parley that is gone (postmaster pid {}); "
                    + "restarting it so that this process looks after it", pgDir, running.get().pid());
            postmaster.stopOrphan(running.get());
        } else if (running.isPresent() && runningPort.isPresent()) {
            LOG.info("attaching to the PostgreSQL already running in {} on port {}; this process starts it here "
                    + "if the process that runs it stops it", pgDir, runningPort.get());
            return new LocalPostgres(postmaster, true, passwordFile.read().orElse(null), null).withDatabase();
        }
        boolean made = !postmaster.initialized();
        if (made) {
            postmaster.initdb();
        }
        String password = passwordFile.read().orElseGet(() -> requirePassword(postmaster, passwordFile, made));
        postmaster.start();
        return new LocalPostgres(postmaster, false, password, null).withDatabase();
    }

    /** Whether {@code dataDir} holds an embedded database: {@link #startOrAttach} makes one where it does not. */
    public static boolean holdsDatabase(Path dataDir) {
        return Files.exists(dataDir.resolve("pg").resolve("PG_VERSION"));
    }

    /** A new folder, or one an older Parley made with trust authentication: from now on only the password lets in. */
    private static String requirePassword(Postmaster postmaster, PasswordFile passwordFile, boolean made) {
        String password = PasswordFile.generate();
        postmaster.requirePassword(password);
        passwordFile.write(password); // last: a folder with the file is known to need it
        LOG.info(made ? "the embedded PostgreSQL made in {} asks for the password in {}"
                : "the embedded PostgreSQL in {} now asks for the password in {}", postmaster.dataDir(), passwordFile.path());
        return password;
    }

    /**
     * A throw-away server in a new folder {@code pgDir}, without a password, wiped on close or when the JVM
     * exits (tests). fsync and synchronous_commit are off unless {@code serverConfig} says otherwise.
     */
    public static LocalPostgres startTemporary(Path pgDir, Map<String, String> serverConfig) {
        var settings = new HashMap<>(Map.of("fsync", "off", "synchronous_commit", "off"));
        settings.putAll(serverConfig);
        var postmaster = new Postmaster(PostgresBinaries.unpacked(), pgDir, pgDir.resolveSibling(pgDir.getFileName() + ".log"),
                freePort(), settings);
        postmaster.initdb();
        postmaster.start();
        var server = new LocalPostgres(postmaster, false, null, pgDir);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("parley-test-postgres-stop").unstarted(server::close));
        return server.withDatabase();
    }

    /**
     * Keeps the server running on {@code scheduler} until {@link #close()}: restarts it whenever it stops, if this
     * process started it; if another process runs it, starts it here (same port, same settings) once it is gone,
     * and from then on restarts it as its own (see {@link Supervisor}).
     */
    public synchronized LocalPostgres supervise(ScheduledExecutorService scheduler, Clock clock) {
        if (supervisor == null && !closed) {
            Path pgDir = postmaster.dataDir();
            supervisor = attached
                    ? Supervisor.standBy(postmaster, () -> runningPort(pgDir), scheduler, clock)
                    : Supervisor.watch(postmaster, () -> runningPort(pgDir), scheduler, clock);
        }
        return this;
    }

    static int freePort() {
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("could not find a free port on 127.0.0.1 for the embedded PostgreSQL", e);
        }
    }

    /** The postmaster running on {@code pgDir} and taking connections, if there is one. */
    private static Optional<ProcessHandle> runningPostmaster(Path pgDir) {
        if (runningPort(pgDir).isEmpty()) {
            return Optional.empty();
        }
        try {
            return ProcessHandle.of(Long.parseLong(Files.readAllLines(pgDir.resolve("postmaster.pid")).getFirst().strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * A postmaster is another Parley's to share while that Parley (a JVM) is its parent; once that process is
     * gone it was re-parented to init, and no one would restart it if it stopped.
     */
    private static boolean isOrphan(ProcessHandle postmaster) {
        return postmaster.parent()
                .flatMap(parent -> parent.info().command())
                .map(command -> !Path.of(command).getFileName().toString().startsWith("java"))
                .orElse(true);
    }

    /** PostgreSQL's own lock file names the postmaster's pid (line 1) and port (line 4). */
    private static Optional<Integer> runningPort(Path pgDir) {
        Path pidFile = pgDir.resolve("postmaster.pid");
        try {
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            List<String> lines = Files.readAllLines(pidFile);
            if (lines.size() < 4) {
                return Optional.empty();
            }
            long pid = Long.parseLong(lines.get(0).strip());
            int port = Integer.parseInt(lines.get(3).strip());
            boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
            return alive && accepts(port) ? Optional.of(port) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static boolean accepts(int port) {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private LocalPostgres withDatabase() {
        try (var connection = DriverManager.getConnection(jdbcUrl("postgres"), Postmaster.SUPERUSER, password);
             var statement = connection.createStatement()) {
            var exists = statement.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'");
            if (!exists.next()) {
                statement.execute("CREATE DATABASE " + DATABASE);
            }
        } catch (SQLException e) {
            throw new DatabaseUnavailable("could not create the '" + DATABASE + "' database in the embedded PostgreSQL", e);
        }
        enableStatementStatistics();
        return this;
    }

    /** pg_stat_statements is preloaded by {@link #durable()}; created in the database, it lets parley doctor read the workload. */
    private void enableStatementStatistics() {
        try (var connection = DriverManager.getConnection(jdbcUrl(DATABASE), Postmaster.SUPERUSER, password);
             var statement = connection.createStatement()) {
            var preloaded = statement.executeQuery("SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries'"
                    + " AND setting LIKE '%pg_stat_statements%'");
            if (preloaded.next()) {
                statement.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            }
        } catch (SQLException e) {
            throw new DatabaseUnavailable("could not create pg_stat_statements in the embedded PostgreSQL", e);
        }
    }

    public ConnectionTarget target() {
        return target(DATABASE);
    }

    public ConnectionTarget target(String database) {
        return new ConnectionTarget(jdbcUrl(database), Postmaster.SUPERUSER, password);
    }

    private String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** Whether this process runs the server: it started it, or took it over from the process it attached to. */
    boolean runsTheServer() {
        return postmaster.running();
    }

    /**
     * Stops supervising, then the server if this process started it (processes attached to it start it again
     * on their own); a server this process attached to keeps running.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (supervisor != null) {
            supervisor.close();
        }
        postmaster.stop(); // nothing to do unless this process runs it
        if (deleteOnClose != null) {
            delete(deleteOnClose);
        }
    }

    private static void delete(Path folder) {
        try {
            PathUtils.deleteDirectory(folder);
        } catch (IOException e) {
            LOG.warn("could not delete the throw-away PostgreSQL folder {}", folder, e);
        }
    }
}
