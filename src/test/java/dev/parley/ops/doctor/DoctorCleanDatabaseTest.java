package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * The doctor on healthy databases, on a server configured like production (the shared test server
 * runs with relaxed durability): it must report nothing at all, not even at info level.
 */
class DoctorCleanDatabaseTest {
    private static final long ONE_GB = 1L << 30;
    private static final Doctor.Options OPTIONS = new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.of(ONE_GB),
            Optional.of(Period.ofDays(365)));

    private final TestDatabase server = TestDatabase.productionLike();

    private static Report audit(ConnectionTarget target) {
        try (Database database = TestDatabase.pool(target, 2)) {
            return new Doctor(database, OPTIONS).audit(List.of());
        }
    }

    @Test
    void reports_nothing_on_parleys_own_schema_once_its_months_are_made() {
        ConnectionTarget target = server.migrated("doctor_clean_parley");
        try (Database database = TestDatabase.pool(target, 2)) {
            new Partitions(database).ensureAhead(Instant.now(), FuturePartitions.AHEAD);
        }

        Report report = audit(target);

        assertThat(report.findings()).isEmpty();
        assertThat(report.skipped()).noneMatch(n -> n.reason().startsWith("failed"));
    }

    @Test
    void without_a_retention_given_the_retention_check_on_parleys_schema_points_to_parleys_own_per_app_policy() {
        ConnectionTarget target = server.migrated("doctor_parley_retention");
        Report report;
        try (Database database = TestDatabase.pool(target, 2)) {
            new Partitions(database).ensureAhead(Instant.now(), FuturePartitions.AHEAD);
            report = new Doctor(database, new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.of(ONE_GB), Optional.empty()))
                    .audit(List.of());
        }

        assertThat(report.skipped()).filteredOn(note -> note.check().equals("partition.retention")).singleElement()
                .satisfies(note -> assertThat(note.reason()).contains("each app's own retention ('parley retention' lists it)"));
    }

    @Test
    void reports_nothing_on_a_well_kept_application_database() throws Exception {
        ConnectionTarget target = server.fresh("doctor_clean_app");
        try (Connection c = server.connect("doctor_clean_app")) {
            PlantedDatabase.run(c,
                    "CREATE EXTENSION pg_stat_statements",
                    "CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE)",
                    "INSERT INTO customers (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 2000) g",
                    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, "
                            + "data jsonb NOT NULL, created_at timestamptz NOT NULL)",
                    "CREATE INDEX orders_customer_idx ON orders (customer_id, created_at)",
                    "CREATE INDEX orders_data_idx ON orders USING gin (data jsonb_path_ops)",
                    "INSERT INTO orders SELECT g, 1 + g % 2000, jsonb_build_object('plan', 'p' || (g % 100)), now() "
                            + "FROM generate_series(1, 20000) g",
                    "CREATE TABLE events (created_at timestamptz NOT NULL, kind text NOT NULL) PARTITION BY RANGE (created_at)");
            YearMonth now = YearMonth.now(ZoneOffset.UTC);
            for (YearMonth m = now.minusMonths(2); !m.isAfter(now.plusMonths(3)); m = m.plusMonths(1)) {
                PlantedDatabase.run(c, "CREATE TABLE events_" + m.toString().replace('-', '_') + " PARTITION OF events "
                        + "FOR VALUES FROM ('" + m.atDay(1) + "') TO ('" + m.plusMonths(1).atDay(1) + "')");
            }
            PlantedDatabase.run(c, "CREATE TABLE events_default PARTITION OF events DEFAULT",
                    "INSERT INTO events SELECT now() - g * interval '1 minute', 'click' FROM generate_series(1, 5000) g",
                    "ANALYZE");
            try (PreparedStatement byCustomer = c.prepareStatement("SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at");
                 PreparedStatement byData = c.prepareStatement("SELECT id FROM orders WHERE data @> ?::jsonb");
                 PreparedStatement byEmail = c.prepareStatement("SELECT id FROM customers WHERE email = ?")) {
                for (int i = 0; i < PlantedDatabase.CALLS; i++) {
                    bind(byCustomer, (long) i).executeQuery().close();
                    bind(byData, "{\"plan\": \"p" + i + "\"}").executeQuery().close();
                    bind(byEmail, "user" + i + "@example.com").executeQuery().close();
                }
            }
            PlantedDatabase.flushStatistics(c);
        }

        Report report = audit(target);

        assertThat(report.findings()).isEmpty();
        assertThat(report.skipped()).noneMatch(n -> n.reason().startsWith("failed"));
    }

    private static PreparedStatement bind(PreparedStatement statement, Object value) throws Exception {
        statement.setObject(1, value);
        return statement;
    }

    @Test
    void reports_connections_near_max_connections_until_they_are_closed() throws Exception {
        ConnectionTarget target = server.fresh("doctor_clean_connections");
        List<Connection> crowd = new ArrayList<>();
        try {
            int usable = 40 - 3; // max_connections minus superuser_reserved_connections
            while (crowd.size() < usable * Connections.WARNING) {
                crowd.add(server.connect("doctor_clean_connections"));
            }
            Report crowded = audit(target);
            assertThat(crowded.findings()).extracting(Finding::check).contains("runtime.connections");
        } finally {
            for (Connection c : crowd) {
                c.close();
            }
        }
        Wait.until("the closed sessions' backends to end", Duration.ofSeconds(10),
                () -> audit(target).findings().stream().noneMatch(f -> f.check().equals("runtime.connections")));
    }

    @Test
    void a_printed_settings_fix_removes_its_finding_after_a_reload() throws Exception {
        ConnectionTarget target = server.fresh("doctor_clean_settings");
        try (Connection c = server.connect("doctor_clean_settings")) {
            PlantedDatabase.run(c, "ALTER SYSTEM SET work_mem = '64MB'", "SELECT pg_reload_conf()");
            try {
                Finding workMem = Wait.forValue("the reloaded setting to be found", Duration.ofSeconds(10),
                        () -> audit(target).findings().stream()
                                .filter(f -> f.check().equals("settings") && f.object().equals("work_mem")).findFirst());

                PlantedDatabase.run(c, workMem.fix().executable().toArray(String[]::new));

                Wait.until("the fixed setting to be reloaded", Duration.ofSeconds(10),
                        () -> audit(target).findings().stream().noneMatch(f -> f.object().equals("work_mem")));
            } finally {
                PlantedDatabase.run(c, "ALTER SYSTEM RESET work_mem", "SELECT pg_reload_conf()");
            }
        }
    }
}
