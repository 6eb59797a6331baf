package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.LocalPostgres;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** A crash or pg_stat_reset() clears what the statistics views say about ANALYZE, not the statistics themselves. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DoctorAfterStatisticsResetTest {
    private final TestDatabase server = TestDatabase.get();

    @AfterAll
    void drop() throws Exception {
        try (Connection admin = server.connect("postgres")) {
            PlantedDatabase.run(admin, "DROP DATABASE IF EXISTS doctor_stats_reset WITH (FORCE)");
        }
    }

    @Test
    void a_table_analysed_before_a_statistics_reset_is_not_reported_as_never_analysed() throws Exception {
        ConnectionTarget target = server.fresh("doctor_stats_reset");
        try (Connection c = server.connect("doctor_stats_reset")) {
            PlantedDatabase.run(c,
                    "CREATE TABLE analysed (id bigint PRIMARY KEY, v int) WITH (autovacuum_enabled = false)",
                    "INSERT INTO analysed SELECT g, g FROM generate_series(1, 5000) g",
                    "CREATE TABLE partitioned (id bigint NOT NULL) PARTITION BY RANGE (id)",
                    "CREATE TABLE partitioned_1 PARTITION OF partitioned FOR VALUES FROM (0) TO (100000)",
                    "INSERT INTO partitioned SELECT g FROM generate_series(1, 5000) g",
                    "ANALYZE analysed", "ANALYZE partitioned",
                    "CREATE TABLE never (id bigint PRIMARY KEY, v int) WITH (autovacuum_enabled = false)",
                    "INSERT INTO never SELECT g, g FROM generate_series(1, 5000) g",
                    "VACUUM never", // a row estimate, and still no statistics
                    "SELECT pg_stat_reset()");
            PlantedDatabase.flushStatistics(c);
        }

        Report report;
        try (Database database = TestDatabase.pool(target, 2)) {
            report = new Doctor(database, new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.of(1L << 30), Optional.empty()))
                    .audit(List.of("vacuum.stale_statistics"));
        }

        assertThat(report.findings()).filteredOn(f -> !f.object().equals("public.never")).extracting(Finding::object)
                .containsExactlyInAnyOrder("public.analysed", "public.partitioned", "public.partitioned_1");
        assertThat(report.findings()).filteredOn(f -> !f.object().equals("public.never")).allSatisfy(f -> {
            assertThat(f.severity()).isEqualTo(Severity.INFO);
            assertThat(f.summary()).contains("no ANALYZE recorded", "planner statistics from an earlier one are there")
                    .doesNotContain("never been analysed");
            assertThat(f.fix().statements()).containsExactly("ANALYZE " + f.object() + ";");
        });
        assertThat(report.findings()).filteredOn(f -> f.object().equals("public.never")).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.summary()).contains("never been analysed");
        });
    }

    /**
     * index.unused gave a table's rows as n_live_tup, which a crash sets back to 0 (pg_stat_reset() leaves it): 22 for a
     * table of 5,022 rows, the 22 written since. The crash is a server of the test's own whose backend is killed.
     */
    @Test
    void an_unused_index_gives_its_tables_rows_as_the_planner_estimates_them_not_as_counted_since_a_crash(@TempDir Path dir)
            throws Exception {
        // commits written before they are acknowledged: a crash loses those of asynchronous commit, a test server's default
        try (LocalPostgres crashed = LocalPostgres.startTemporary(dir.resolve("pg"), Map.of("synchronous_commit", "on"))) {
            ConnectionTarget target = crashed.target();
            try (Connection c = connect(target)) {
                PlantedDatabase.run(c,
                        "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL) WITH (autovacuum_enabled = false)",
                        "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 5000) g",
                        "CREATE INDEX notes_body_idx ON notes (body)",
                        "VACUUM ANALYZE notes");
                var backend = c.createStatement().executeQuery("SELECT pg_backend_pid()");
                backend.next();
                ProcessHandle.of(backend.getLong(1)).orElseThrow().destroyForcibly(); // the postmaster recovers from a crash
            }
            Wait.until("PostgreSQL back from its crash recovery", Duration.ofSeconds(30), () -> {
                try (Connection c = connect(target)) {
                    PlantedDatabase.run(c, "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(5001, 5022) g");
                    PlantedDatabase.flushStatistics(c);
                    return true;
                } catch (SQLException e) {
                    return false;
                }
            });

            Report report;
            try (Database database = TestDatabase.pool(target, 2)) {
                report = new Doctor(database, new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.of(1L << 30), Optional.empty()))
                        .audit(List.of("index.unused"));
            }

            assertThat(report.findings()).filteredOn(f -> f.object().equals("public.notes_body_idx")).singleElement()
                    .satisfies(f -> assertThat((Long) f.evidence().get("table_rows")).isBetween(5000L, 5100L));
        }
    }

    private static Connection connect(ConnectionTarget target) throws SQLException {
        return DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password());
    }
}
