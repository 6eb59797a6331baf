package dev.parley.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
     * Settings for a store, not a test: zonky's defaults turn fsync and synchronous_commit off. The
     * buffer cache takes a sixteenth of the machine's memory (at least 128 MB, at most 2 GB): enough
     * that reads stay in PostgreSQL, modest enough for a laptop that runs other things too. The planner
     * is told half the memory caches data (shared buffers and the kernel's page cache together).
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
                "track_io_timing", "on");
    }

    private final EmbeddedPostgres owned; // null when attached to another process's server
    private final int port;

    private LocalPostgres(EmbeddedPostgres owned, int port) {
        this.owned = owned;
        this.port = port;
    }

    /**
     * Starts the server in {@code dataDir/pg} on {@code port} (0: any free port), or attaches to the
     * one already running there, whatever its port.
     */
    public static LocalPostgres startOrAttach(Path dataDir, Map<String, String> serverConfig, int port) {
        Path pgDir = dataDir.resolve("pg");
        Optional<Integer> running = runningPort(pgDir);
        if (running.isPresent()) {
            LOG.info("attaching to the PostgreSQL already running in {} on port {}", pgDir, running.get());
            return new LocalPostgres(null, running.get()).withDatabase();
        }
        return start(pgDir, dataDir.resolve("postgres.log"), serverConfig, false, port).withDatabase();
    }

    /** A throw-away server in {@code pgDir}, wiped on close (tests). */
    public static LocalPostgres startTemporary(Path pgDir, Map<String, String> serverConfig) {
        return start(pgDir, pgDir.resolveSibling(pgDir.getFileName() + ".log"), serverConfig, true, 0).withDatabase();
    }

    private static LocalPostgres start(Path pgDir, Path logFile, Map<String, String> serverConfig, boolean temporary,
                                       int port) {
        try {
            Files.createDirectories(pgDir);
            var builder = EmbeddedPostgres.builder()
                    .setDataDirectory(pgDir)
                    .setCleanDataDirectory(temporary)
                    .setRegisterShutdownHook(temporary)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setPort(port)
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            serverConfig.forEach(builder::setServerConfig);
            EmbeddedPostgres server = builder.start();
            LOG.info("started PostgreSQL in {} on port {} (log: {})", pgDir, server.getPort(), logFile);
            return new LocalPostgres(server, server.getPort());
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL in " + pgDir
                    + "; see " + logFile + " for its own log", e);
        }
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
            socket.connect(new InetSocketAddress("localhost", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private LocalPostgres withDatabase() {
        try (var connection = DriverManager.getConnection(jdbcUrl("postgres"), "postgres", null);
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
        try (var connection = DriverManager.getConnection(jdbcUrl(DATABASE), "postgres", null);
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
        return new ConnectionTarget(jdbcUrl(database), "postgres", null);
    }

    private String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost:" + port + "/" + database;
    }

    public int port() {
        return port;
    }

    /** Stops the server if this process started it; an attached server keeps running. */
    @Override
    public void close() {
        if (owned == null) {
            return;
        }
        try {
            owned.close();
        } catch (IOException e) {
            LOG.warn("could not stop the embedded PostgreSQL cleanly", e);
        }
    }
}
