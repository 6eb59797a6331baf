package dev.parley.support;

import dev.parley.config.DatabaseUrl;
import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.LocalPostgres;
import dev.parley.db.Migrations;
import dev.parley.db.QueryLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/**
 * The PostgreSQL the tests use: an embedded one started once per test run, or the server named by
 * PARLEY_TEST_DATABASE_URL. Tests get their own databases on it, built with the production migrations.
 */
public final class TestDatabase {
    private static final Map<String, String> TEST_SERVER = Map.of(
            "max_connections", "300",
            "shared_preload_libraries", "pg_stat_statements");

    // What a production server has and the shared test server relaxes: durable writes. Few connections,
    // so a test can use most of them.
    private static final Map<String, String> PRODUCTION_LIKE_SERVER = Map.of(
            "fsync", "on",
            "synchronous_commit", "on",
            "full_page_writes", "on",
            "max_connections", "40",
            "shared_preload_libraries", "pg_stat_statements");

    private static final String TEMPLATE = "parley_migrated_template";
    private static TestDatabase instance;
    private static TestDatabase productionLike;

    private final String baseUrl; // jdbc:postgresql://host:port/
    private final String user;
    private final String password;
    private boolean templateMigrated; // guarded by this

    private TestDatabase(String baseUrl, String user, String password) {
        this.baseUrl = baseUrl;
        this.user = user;
        this.password = password;
    }

    public static synchronized TestDatabase get() {
        if (instance == null) {
            instance = start();
        }
        return instance;
    }

    private static TestDatabase start() {
        String url = System.getenv("PARLEY_TEST_DATABASE_URL");
        if (url != null && !url.isBlank()) {
            DatabaseUrl parsed = DatabaseUrl.parse(url);
            String base = parsed.jdbcUrl().replaceFirst("^(jdbc:postgresql://[^/]+/).*$", "$1");
            return new TestDatabase(base, parsed.user() == null ? "postgres" : parsed.user(), parsed.password());
        }
        return startEmbedded(TEST_SERVER);
    }

    /**
     * A second embedded server, started once per test run, configured like production (durable writes,
     * 40 connections), for tests that judge server settings, which the shared test server relaxes.
     */
    public static synchronized TestDatabase productionLike() {
        if (productionLike == null) {
            productionLike = startEmbedded(PRODUCTION_LIKE_SERVER);
        }
        return productionLike;
    }

    private static TestDatabase startEmbedded(Map<String, String> serverConfig) {
        try {
            var dir = Files.createTempDirectory("parley-test-pg");
            LocalPostgres server = LocalPostgres.startTemporary(dir.resolve("pg"), serverConfig);
            return new TestDatabase("jdbc:postgresql://localhost:" + server.port() + "/", "postgres", null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new, empty database (dropped first if a previous run left it). */
    public ConnectionTarget fresh(String name) {
        try (Connection admin = connect("postgres"); var statement = admin.createStatement()) {
            statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            statement.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create test database " + name, e);
        }
        return target(name);
    }

    /**
     * A new database with Parley's schema applied by the production migrations: a copy of one database
     * migrated once per run, so a test class that wants a clean database per test pays for a copy, not
     * for the migrations.
     */
    public ConnectionTarget migrated(String name) {
        synchronized (this) {
            if (!templateMigrated) {
                try (Database database = pool(fresh(TEMPLATE), 2)) {
                    new Migrations(database.dataSource()).migrate();
                }
                templateMigrated = true;
            }
        }
        try (Connection admin = connect("postgres"); var statement = admin.createStatement()) {
            statement.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            statement.execute("CREATE DATABASE " + name + " TEMPLATE " + TEMPLATE);
        } catch (SQLException e) {
            throw new IllegalStateException("could not copy the migrated template into test database " + name, e);
        }
        return target(name);
    }

    /** How many sessions of {@code database} wait for a lock now, as {@code connection} (any session of the server) sees it. */
    public static long lockWaits(Connection connection, String database) throws SQLException {
        try (var rows = connection.createStatement().executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = '" + database + "'")) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /** Statements a test runs on a database before it is migrated further. */
    @FunctionalInterface
    public interface Rows {
        void plant(java.sql.Statement statement) throws SQLException;
    }

    /**
     * A new database migrated up to {@code version} by the production migrations, given rows by {@code before}, then
     * migrated to this build's schema: for the test of a migration that fills what it adds from the rows already there.
     */
    public ConnectionTarget migratedOver(String name, String version, Rows before) throws SQLException {
        try (Database database = pool(fresh(name), 2)) {
            org.flywaydb.core.Flyway.configure().dataSource(database.dataSource()).locations("classpath:db/migration")
                    .target(version).load().migrate();
            try (Connection connection = database.dataSource().getConnection(); var statement = connection.createStatement()) {
                before.plant(statement);
            }
            new Migrations(database.dataSource()).migrate();
        }
        return target(name);
    }

    public ConnectionTarget target(String name) {
        return new ConnectionTarget(baseUrl + name, user, password);
    }

    /** The database as another role sees it (a role the test created, with no password). */
    public ConnectionTarget target(String name, String role) {
        return new ConnectionTarget(baseUrl + name, role, null);
    }

    public Connection connect(String name) throws SQLException {
        return DriverManager.getConnection(baseUrl + name, user, password);
    }

    /** A postgres:// URL for the database, as DATABASE_URL would give it. */
    public String url(String name) {
        String hostPort = baseUrl.replaceFirst("^jdbc:postgresql://", "").replaceFirst("/$", "");
        return "postgres://" + user + (password == null ? "" : ":" + password) + "@" + hostPort + "/" + name;
    }

    public static Database pool(ConnectionTarget target, int size) {
        return Database.connect(target, size, Duration.ofSeconds(10),
                QueryLog.quiet(), null);
    }
}
