package dev.parley.ops.doctor;

import dev.parley.db.ConnectionTarget;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A database with one of every problem the doctor looks for, each planted by plain SQL the way an
 * application would cause it, plus the sessions that keep the runtime problems alive: one idle in a
 * transaction, one holding a row lock another one waits for, one running a long query.
 */
final class PlantedDatabase implements AutoCloseable {
    static final String SLOT = "doctor_planted_slot";
    static final int CALLS = 20;

    final TestDatabase server;
    final String name;
    final ConnectionTarget target;
    private final List<Connection> sessions = new ArrayList<>();
    private final ExecutorService background = Executors.newCachedThreadPool();
    int idlePid;
    int blockerPid;
    int blockedPid;
    int sleeperPid;

    private PlantedDatabase(TestDatabase server, String name) {
        this.server = server;
        this.name = name;
        this.target = server.fresh(name);
    }

    static PlantedDatabase build(TestDatabase server, String name) throws Exception {
        var db = new PlantedDatabase(server, name);
        try (Connection c = server.connect(name)) {
            db.indexProblems(c);
            db.workload(c);
            db.maintenanceProblems(c);
            db.partitionProblems(c);
            db.runtimeData(c);
            flushStatistics(c);
        }
        db.invalidIndex();
        return db;
    }

    static void run(Connection c, String... statements) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
    }

    /** Backends publish their table and index counters at most once a second unless told to now. */
    static void flushStatistics(Connection c) throws SQLException {
        run(c, "SELECT pg_stat_force_next_flush()");
    }

    private void indexProblems(Connection c) throws SQLException {
        run(c,
                "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, region text NOT NULL)",
                "INSERT INTO customers SELECT g, 'user' || g || '@example.com', 'region-' || (g % 20) FROM generate_series(1, 2000) g",
                "CREATE INDEX customers_email_idx ON customers (email)",
                "CREATE INDEX customers_email_copy_idx ON customers (email)",          // identical twin
                "CREATE INDEX customers_region_idx ON customers (region)",
                "CREATE INDEX customers_region_email_idx ON customers (region, email)", // makes region_idx a prefix
                "CREATE INDEX customers_id_idx ON customers (id)",                       // repeats the primary key
                "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, "
                        + "status text NOT NULL, note text, created_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO orders SELECT g, 1 + g % 2000, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3], 'note ' || g, "
                        + "now() - g * interval '1 minute' FROM generate_series(1, 20000) g",
                "CREATE INDEX orders_note_idx ON orders (note)",                         // never used
                "CREATE TABLE bloated (id bigint PRIMARY KEY, payload text NOT NULL)",
                "INSERT INTO bloated SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) "
                        + "FROM generate_series(1, 150000) g",
                "CREATE INDEX bloated_payload_idx ON bloated (payload)",
                "DELETE FROM bloated WHERE id % 5 <> 0",                                 // four rows in five go
                "VACUUM ANALYZE bloated",
                "SELECT count(*) FROM bloated WHERE payload = 'x'");                     // the index is used, only bloated
    }

    private void workload(Connection c) throws SQLException {
        run(c,
                "CREATE EXTENSION pg_stat_statements",
                "CREATE TABLE profiles (id bigint PRIMARY KEY, data jsonb NOT NULL)",
                "INSERT INTO profiles SELECT g, jsonb_build_object('plan', (ARRAY['free', 'pro', 'team'])[1 + g % 3], 'n', g) "
                        + "FROM generate_series(1, 20000) g",
                "CREATE TABLE tags (id bigint PRIMARY KEY, attrs jsonb NOT NULL)",
                "INSERT INTO tags SELECT g, jsonb_build_object('k' || (g % 500), true) FROM generate_series(1, 20000) g",
                "CREATE INDEX tags_attrs_idx ON tags USING gin (attrs jsonb_path_ops)", // cannot serve the ? operator
                "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)",
                "INSERT INTO notes SELECT g, 'note number ' || g || ' about ' || md5(g::text) FROM generate_series(1, 20000) g",
                "ANALYZE customers", "ANALYZE orders", "ANALYZE profiles", "ANALYZE tags", "ANALYZE notes");
        repeat(c, "SELECT id, status FROM orders WHERE customer_id = ?", 42L);
        repeat(c, "SELECT id FROM profiles WHERE data @> ?::jsonb", "{\"plan\": \"pro\"}");
        repeat(c, "SELECT id FROM tags WHERE attrs ?? ?", "k7");
        repeat(c, "SELECT id FROM notes WHERE body ILIKE ?", "%abc%");
    }

    private static void repeat(Connection c, String sql, Object argument) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < CALLS; i++) {
                s.setObject(1, argument);
                s.executeQuery().close();
            }
        }
    }

    private void maintenanceProblems(Connection c) throws SQLException {
        run(c,
                "CREATE TABLE churned (id bigint PRIMARY KEY, v int) WITH (autovacuum_enabled = false)",
                "INSERT INTO churned SELECT g, g FROM generate_series(1, 10000) g",
                "ANALYZE churned",
                "DELETE FROM churned WHERE id % 2 = 0",
                "CREATE TABLE imported (id bigint PRIMARY KEY, v int) WITH (autovacuum_enabled = false)",
                "INSERT INTO imported SELECT g, g FROM generate_series(1, 5000) g",
                "CREATE TABLE hot_counters (id bigint PRIMARY KEY, n int NOT NULL)",
                "INSERT INTO hot_counters SELECT g, 0 FROM generate_series(1, 100000) g",
                "UPDATE hot_counters SET n = n + 1",
                "VACUUM ANALYZE hot_counters",
                "CREATE TABLE tickets (id serial PRIMARY KEY, title text)",
                "INSERT INTO tickets (title) VALUES ('first')",
                "SELECT setval('tickets_id_seq', 2000000000)",
                "ANALYZE tickets");
    }

    /** Monthly partitions for the last 15 months, none for this month or later, and rows of today in DEFAULT. */
    private void partitionProblems(Connection c) throws SQLException {
        // An identity and a generated column: a fix that moves rows must name the columns it may write.
        run(c, "CREATE TABLE events (created_at timestamptz NOT NULL, kind text NOT NULL, "
                + "id bigint GENERATED ALWAYS AS IDENTITY, day date GENERATED ALWAYS AS ((created_at AT TIME ZONE 'UTC')::date) STORED) "
                + "PARTITION BY RANGE (created_at)");
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        for (YearMonth m = now.minusMonths(15); m.isBefore(now); m = m.plusMonths(1)) {
            run(c, "CREATE TABLE events_" + m.format(DateTimeFormatter.ofPattern("yyyy_MM")) + " PARTITION OF events "
                    + "FOR VALUES FROM ('" + m.atDay(1) + "') TO ('" + m.plusMonths(1).atDay(1) + "')",
                    "INSERT INTO events SELECT timestamptz '" + m.atDay(1) + " 00:00:00+00' + g * interval '1 hour', 'click' "
                            + "FROM generate_series(1, 100) g");
        }
        run(c, "CREATE TABLE events_default PARTITION OF events DEFAULT",
                "INSERT INTO events SELECT now() - g * interval '1 second', 'click' FROM generate_series(1, 50) g");
    }

    private void runtimeData(Connection c) throws SQLException {
        run(c, "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)",
                "INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g",
                "ANALYZE accounts",
                // a run that died on a server kept between runs (PARLEY_TEST_DATABASE_URL) leaves its slot behind
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'",
                "SELECT pg_create_physical_replication_slot('" + SLOT + "', true)");
    }

    /**
     * A CREATE INDEX CONCURRENTLY cancelled while it waits for a writer leaves its index behind, invalid.
     * Cancelled by hand, not by lock_timeout: under libfaketime (.ci/dated-tests) PostgreSQL's timeouts
     * read the real clock when they fire during a wait, and re-arm instead of firing.
     */
    private void invalidIndex() throws Exception {
        try (Connection writer = server.connect(name); Connection builder = server.connect(name);
             Connection watch = server.connect(name)) {
            writer.setAutoCommit(false);
            run(writer, "INSERT INTO orders (id, customer_id, status) VALUES (999999, 1, 'new')");
            int builderPid = pid(builder);
            Future<?> build = background.submit(() -> {
                run(builder, "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)");
                return null;
            });
            waitFor(watch, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = " + builderPid);
            run(watch, "SELECT pg_cancel_backend(" + builderPid + ")");
            try {
                build.get();
                throw new IllegalStateException("the concurrent index build was expected to be cancelled");
            } catch (ExecutionException expected) {
                writer.rollback();
            }
        }
    }

    /** Opens the sessions behind the runtime findings and waits until the blocked one is really waiting. */
    void startSessions() throws Exception {
        Connection idle = session();
        idle.setAutoCommit(false);
        run(idle, "SELECT count(*) FROM customers");
        idlePid = pid(idle);
        Connection blocker = session();
        blocker.setAutoCommit(false);
        run(blocker, "UPDATE accounts SET balance = balance + 1 WHERE id = 1");
        blockerPid = pid(blocker);
        Connection blocked = session();
        blockedPid = pid(blocked);
        background.submit(() -> {
            run(blocked, "UPDATE accounts SET balance = balance - 1 WHERE id = 1");
            return null;
        });
        Connection sleeper = session();
        sleeperPid = pid(sleeper);
        background.submit(() -> {
            run(sleeper, "SELECT pg_sleep(300)");
            return null;
        });
        try (Connection watch = server.connect(name)) {
            waitFor(watch, "SELECT count(*) = 2 FROM pg_stat_activity WHERE (pid = " + blockedPid + " AND wait_event_type = 'Lock') "
                    + "OR (pid = " + sleeperPid + " AND state = 'active')");
        }
    }

    private Connection session() throws SQLException {
        Connection c = server.connect(name);
        sessions.add(c);
        return c;
    }

    private static int pid(Connection c) throws SQLException {
        try (var rows = c.createStatement().executeQuery("SELECT pg_backend_pid()")) {
            rows.next();
            return rows.getInt(1);
        }
    }

    /** Polls {@code condition}, a query answering one boolean, until it is true. */
    static void waitFor(Connection c, String condition) {
        Wait.until(condition, Duration.ofSeconds(20), () -> {
            try (var rows = c.createStatement().executeQuery(condition)) {
                rows.next();
                return rows.getBoolean(1);
            }
        });
    }

    @Override
    public void close() throws SQLException {
        try (Connection admin = server.connect(name)) {
            run(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ("
                            + idlePid + ", " + blockerPid + ", " + blockedPid + ", " + sleeperPid + ")",
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + SLOT + "'");
        }
        for (Connection c : sessions) {
            c.close();
        }
        background.shutdownNow();
    }
}
