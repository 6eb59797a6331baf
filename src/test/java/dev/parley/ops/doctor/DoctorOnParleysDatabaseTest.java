package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.time.Instant;
import java.time.Period;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The doctor on Parley's own database: what it proposes there must not break Parley. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DoctorOnParleysDatabaseTest {
    private static final Doctor.Options OPTIONS = new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.of(1L << 30),
            Optional.of(Period.ofDays(365)));

    private final TestDatabase server = TestDatabase.get();

    @AfterAll
    void drop() throws Exception {
        try (Connection admin = server.connect("postgres")) {
            PlantedDatabase.run(admin, "DROP DATABASE IF EXISTS doctor_parley_unused WITH (FORCE)",
                    "DROP DATABASE IF EXISTS doctor_parley_archive WITH (FORCE)",
                    "DROP DATABASE IF EXISTS doctor_parley_moves WITH (FORCE)");
        }
    }

    private static Report audit(ConnectionTarget target, String... only) {
        try (Database database = TestDatabase.pool(target, 2)) {
            return new Doctor(database, OPTIONS).audit(List.of(only));
        }
    }

    private static Finding finding(Report report, String check, String object) {
        return report.findings().stream().filter(f -> f.check().equals(check) && f.object().equals(object)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + check + " finding for " + object + " in " + report.findings()));
    }

    @Test
    void never_proposes_dropping_an_index_parleys_migrations_made_but_still_an_operators_own() throws Exception {
        ConnectionTarget target = server.migrated("doctor_parley_unused");
        try (Database database = TestDatabase.pool(target, 2)) {
            new Partitions(database).ensureAhead(Instant.now(), FuturePartitions.AHEAD);
        }
        try (Connection c = server.connect("doctor_parley_unused")) {
            PlantedDatabase.run(c, "CREATE INDEX messages_by_hand_idx ON messages (app_id, created_at)",
                    "INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content, "
                            + "author_character_id) SELECT 1, 1, 1, " + Ids.floorOf(Instant.now()) + " + g, g, now(), "
                            + "'assistant', 'hello ' || g, 7 FROM generate_series(1, 3000) g",
                    "ANALYZE messages");
            PlantedDatabase.flushStatistics(c);
        }

        Report report = audit(target, "index.unused");

        Finding parleys = finding(report, "index.unused", "public.messages_character_idx");
        assertThat(parleys.severity()).isEqualTo(Severity.INFO);
        assertThat(parleys.fix().statements()).isEmpty();
        assertThat(parleys.summary()).contains("V13__message_filters_and_time_windows", "keep it");
        assertThat(report.findings()).allSatisfy(f -> assertThat(f.fix().executable())
                .as("fix for %s", f.object()).noneMatch(sql -> sql.contains("messages_character_idx")
                        || sql.contains("messages_app_time_idx") || sql.contains("messages_words_idx")));
        assertThat(finding(report, "index.unused", "public.messages_by_hand_idx").fix().executable())
                .containsExactly("DROP INDEX public.messages_by_hand_idx;");
    }

    @Test
    void reports_archived_months_past_the_retention_and_only_with_the_retention_check() throws Exception {
        ConnectionTarget target = server.migrated("doctor_parley_archive");
        try (Database database = TestDatabase.pool(target, 2)) {
            new Partitions(database).ensureAhead(Instant.now(), FuturePartitions.AHEAD);
        }
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        YearMonth expired = now.minusMonths(24);
        YearMonth kept = now.minusMonths(6);
        try (Connection c = server.connect("doctor_parley_archive")) {
            for (YearMonth m : List.of(expired, kept)) {
                PlantedDatabase.run(c, "CREATE TABLE " + archived(m) + " PARTITION OF parley_archive.messages FOR VALUES FROM ("
                        + Partitions.floorOf(m) + ") TO (" + Partitions.floorOf(m.plusMonths(1)) + ")");
            }
        }

        Report report = audit(target, "partition");

        assertThat(report.findings()).extracting(f -> f.check() + " " + f.object())
                .containsExactly("partition.retention parley_archive.messages");
        Finding retention = report.findings().get(0);
        assertThat(retention.evidence().get("partitions")).isEqualTo(List.of(archived(expired)));
        try (Connection c = server.connect("doctor_parley_archive")) {
            PlantedDatabase.run(c, retention.fix().executable().toArray(String[]::new));
        }
        assertThat(audit(target, "partition").findings()).isEmpty();
    }

    /** A move cut short leaves its month refusing writes until a run finishes it; nothing said so but partitions. */
    @Test
    void reports_a_move_into_the_archive_cut_short_an_hour_ago_and_not_one_just_begun() throws Exception {
        ConnectionTarget target = server.migrated("doctor_parley_moves");
        try (Connection c = server.connect("doctor_parley_moves")) {
            PlantedDatabase.run(c, "INSERT INTO partition_moves (partition_name, destination, started_at) VALUES "
                    + "('messages_y2025m01', 'parley_archive', now() - interval '2 hours'), "
                    + "('messages_y2025m02', 'parley_archive', now())");
        }

        Report report = audit(target, "partition.moves");

        assertThat(report.findings()).extracting(Finding::object).containsExactly("messages_y2025m01");
        assertThat(report.findings().get(0).summary()).contains("cut short", "refuses writes", "parley archive");
        assertThat(report.findings().get(0).severity()).isEqualTo(Severity.WARNING);
    }

    private static String archived(YearMonth month) {
        return "parley_archive.messages_y%04dm%02d".formatted(month.getYear(), month.getMonthValue());
    }

    @Test
    void knows_the_archives_indexes_and_follows_drops_and_renames_in_version_order() {
        assertThat(ParleyIndexes.ofThisBuild().madeBy("parley_archive", false, "messages", "messages_words_idx")).isPresent();
        assertThat(ParleyIndexes.ofThisBuild().madeBy("parley_archive", false, "messages", "messages_character_idx")).isPresent();
        assertThat(ParleyIndexes.ofThisBuild().madeBy("public", true, "messages", "messages_search_idx"))
                .as("dropped by V16").isEmpty();
        assertThat(ParleyIndexes.ofThisBuild().madeBy("public", false, "messages", "messages_words_idx"))
                .as("not in a schema holding Parley's functions").isEmpty();

        ParleyIndexes parsed = ParleyIndexes.parse(Map.of(
                "V10__later.sql", "ALTER INDEX a_idx RENAME TO b_idx;\nDROP INDEX IF EXISTS c_idx;",
                "V9__earlier.sql", "-- CREATE INDEX d_idx ON t (x);\nCREATE INDEX a_idx ON t (x);\n"
                        + "create index concurrently c_idx on only t (y);"));
        assertThat(parsed.all()).extracting(ParleyIndexes.Made::name).containsExactly("b_idx");
        assertThat(parsed.madeBy("public", true, "t", "b_idx")).map(ParleyIndexes.Made::migration).contains("V9__earlier");
    }
}
