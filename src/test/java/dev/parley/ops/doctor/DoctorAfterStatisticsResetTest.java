package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

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
}
