package dev.parley.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A streaming standby of a PostgreSQL on this machine, made with the embedded binaries alone (they have no
 * pg_basebackup): a base backup taken through SQL ({@code pg_backup_start}, a copy of the data folder,
 * {@code pg_backup_stop}), then a postmaster in standby mode that streams the rest from the primary through a
 * replication slot. For the replica tests and {@code parley bench run --compare replica}; a production standby is made
 * with pg_basebackup as PostgreSQL's documentation says.
 */
public final class Standby implements AutoCloseable {
    private static final AtomicInteger SLOTS = new AtomicInteger();
    /** What a base backup leaves out: the postmaster's own files, WAL (streamed instead), and runtime state. */
    private static final Set<String> NOT_COPIED = Set.of("postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal");
    /** A hot standby refuses to start with less of these than its primary has. */
    private static final java.util.List<String> AT_LEAST_THE_PRIMARYS = java.util.List.of("max_connections", "max_worker_processes",
            "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction");
    private static final Set<String> EMPTIED = Set.of("pg_wal", "pg_replslot", "pg_stat_tmp", "pg_dynshmem", "pg_notify",
            "pg_serial", "pg_snapshots", "pg_subtrans");

    private final Postmaster postmaster;
    private final Path dir;
    private final ConnectionTarget primary;
    private final String slot;

    private Standby(Postmaster postmaster, Path dir, ConnectionTarget primary, String slot) {
        this.postmaster = postmaster;
        this.dir = dir;
        this.primary = primary;
        this.slot = slot;
    }

    /**
     * A standby of the server {@code primary} reaches (as a superuser, on 127.0.0.1), in the new folder
     * {@code dir}, running and caught up far enough to take read-only connections. Deleted on close.
     */
    public static Standby of(ConnectionTarget primary, Path dir) {
        String slot = "parley_standby_" + ProcessHandle.current().pid() + "_" + SLOTS.incrementAndGet();
        Path data = dir.resolve("pg");
        int primaryPort;
        Map<String, String> settings = new LinkedHashMap<>(Map.of("fsync", "off", "hot_standby", "on",
                "primary_slot_name", slot, "hot_standby_feedback", "on"));
        try (Connection connection = DriverManager.getConnection(primary.jdbcUrl(), primary.user(), primary.password());
             var statement = connection.createStatement()) {
            Path primaryData = Path.of(value(connection, "SHOW data_directory"));
            primaryPort = Integer.parseInt(value(connection, "SHOW port"));
            for (String name : AT_LEAST_THE_PRIMARYS) {
                settings.put(name, value(connection, "SHOW " + name));
            }
            allowReplication(connection, primaryData);
            statement.execute("SELECT pg_create_physical_replication_slot('" + slot + "', true)");
            statement.execute("SELECT pg_backup_start('" + slot + "', true)");
            copy(primaryData, data);
            Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            var stop = statement.executeQuery("SELECT labelfile, spcmapfile FROM pg_backup_stop(false)");
            stop.next();
            Files.writeString(data.resolve("backup_label"), stop.getString(1));
            if (stop.getString(2) != null && !stop.getString(2).isEmpty()) {
                Files.writeString(data.resolve("tablespace_map"), stop.getString(2));
            }
            Files.writeString(data.resolve("standby.signal"), "");
        } catch (SQLException e) {
            throw new DatabaseUnavailable("could not take a base backup of " + primary.jdbcUrl() + " for a standby", e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy the primary's data folder into " + data, e);
        }
        settings.put("primary_conninfo", "host=127.0.0.1 port=" + primaryPort + " user=" + primary.user()
                + (primary.password() == null ? "" : " password=" + primary.password()) + " application_name=" + slot);
        var postmaster = new Postmaster(PostgresBinaries.unpacked(), data, dir.resolve("standby.log"), LocalPostgres.freePort(),
                settings);
        postmaster.start();
        var standby = new Standby(postmaster, dir, primary, slot);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("parley-standby-stop").unstarted(standby::close));
        return standby;
    }

    private static String value(Connection connection, String sql) throws SQLException {
        try (var result = connection.createStatement().executeQuery(sql)) {
            result.next();
            return result.getString(1);
        }
    }

    /**
     * A folder Parley made lets its superuser in over loopback TCP, but "all" in pg_hba.conf does not cover
     * replication connections: one line more, with the same authentication, and a reload.
     */
    private static void allowReplication(Connection connection, Path primaryData) throws IOException, SQLException {
        Path hba = primaryData.resolve("pg_hba.conf");
        String rules = Files.readString(hba);
        if (rules.lines().anyMatch(line -> line.strip().matches("host\\s+replication\\s+.*127\\.0\\.0\\.1/32.*"))) {
            return;
        }
        String method = rules.contains("scram-sha-256") ? "scram-sha-256" : "trust";
        Files.writeString(hba, rules + (rules.endsWith("\n") ? "" : "\n")
                + "# Added by Parley for a local standby (parley bench run --compare replica, tests)\nhost    replication    all    127.0.0.1/32    "
                + method + "\n");
        value(connection, "SELECT pg_reload_conf()");
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) throws IOException {
                Path relative = from.relativize(dir);
                Path target = to.resolve(relative.toString());
                Files.createDirectories(target);
                if (relative.getNameCount() == 1 && EMPTIED.contains(relative.toString())) {
                    if (relative.toString().equals("pg_wal")) {
                        Files.createDirectories(target.resolve("archive_status"));
                    }
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                if (from.relativize(file).getNameCount() == 1 && NOT_COPIED.contains(file.getFileName().toString())) {
                    return FileVisitResult.CONTINUE;
                }
                try {
                    Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES);
                } catch (NoSuchFileException gone) {
                    // a temporary file the server removed meanwhile: WAL replay makes the copy consistent
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
    }

    /** The standby's database {@code database}, with the primary's credentials (a standby has the primary's roles). */
    public ConnectionTarget target(String database) {
        return new ConnectionTarget("jdbc:postgresql://127.0.0.1:" + postmaster.port() + "/" + database, primary.user(),
                primary.password());
    }

    /** The name the primary knows it by (pg_stat_replication.application_name). */
    public String name() {
        return slot;
    }

    /** Stops the standby as a failure would: it answers nothing until {@link #start()}. Its slot keeps its WAL meanwhile. */
    public void stop() {
        postmaster.stop();
    }

    /** Starts a stopped standby again: it catches up from its slot. */
    public void start() {
        postmaster.start();
    }

    /** Stops applying WAL (it still arrives): the standby falls behind as the primary writes on. */
    public void pauseReplay() {
        execute("SELECT pg_wal_replay_pause()");
    }

    public void resumeReplay() {
        execute("SELECT pg_wal_replay_resume()");
    }

    private void execute(String sql) {
        var target = target("postgres");
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password())) {
            connection.createStatement().execute(sql);
        } catch (SQLException e) {
            throw new DatabaseUnavailable("could not run " + sql + " on the standby", e);
        }
    }

    /** Stops the standby, deletes its folder, and drops its slot so the primary keeps no WAL for it. */
    @Override
    public synchronized void close() {
        if (!Files.exists(dir)) {
            return;
        }
        postmaster.stop();
        try {
            org.apache.commons.io.file.PathUtils.deleteDirectory(dir);
        } catch (IOException e) {
            // a throw-away folder under the temporary directory: left for the system to clean
        }
        try (Connection connection = DriverManager.getConnection(primary.jdbcUrl(), primary.user(), primary.password())) {
            connection.createStatement().execute("SELECT pg_drop_replication_slot('" + slot + "')");
        } catch (SQLException e) {
            // the primary is gone too (a test stopped it), or the slot already is
        }
    }
}
