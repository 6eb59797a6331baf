package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer.OrderAnnotation;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The doctor against a database with one of every problem planted in it: it must find each one with
 * the SQL that fixes it, and after that SQL runs, the next audit must not find it again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(OrderAnnotation.class)
class DoctorPlantedProblemsTest {
    private static final long SIXTEEN_GB = 16L << 30;
    // Sessions count as long-running, idle or waiting after a moment, so the test need not wait a minute.
    private static final Doctor.Options OPTIONS = new Doctor.Options(SessionLimits.all(Duration.ofMillis(300)),
            OptionalLong.of(SIXTEEN_GB), Optional.of(Period.ofDays(365)));
    private static final String MONITOR_ROLE = "doctor_monitor";

    private final TestDatabase server = TestDatabase.get();
    private PlantedDatabase planted;
    private Report report; // the first audit, which the read-only tests share

    @BeforeAll
    void plant() throws Exception {
        planted = PlantedDatabase.build(server, "doctor_planted");
        planted.startSessions();
        try (Connection watch = server.connect("doctor_planted")) { // until the sessions are past the 300 ms limits
            PlantedDatabase.waitFor(watch, "SELECT bool_and(now() - state_change > interval '350 ms') FROM pg_stat_activity "
                    + "WHERE pid IN (" + planted.idlePid + ", " + planted.blockerPid + ", " + planted.sleeperPid + ")");
        }
        report = audit(planted.target);
    }

    @AfterAll
    void clean() throws Exception {
        if (planted != null) {
            planted.close();
        }
        try (Connection admin = server.connect("postgres")) {
            PlantedDatabase.run(admin, "DROP DATABASE IF EXISTS doctor_planted WITH (FORCE)",
                    "DROP DATABASE IF EXISTS doctor_parley WITH (FORCE)", "DROP DATABASE IF EXISTS doctor_cache WITH (FORCE)",
                    "DROP ROLE IF EXISTS " + MONITOR_ROLE);
        }
    }

    private static Report audit(ConnectionTarget target) {
        try (Database database = TestDatabase.pool(target, 2)) {
            return new Doctor(database, OPTIONS).audit(List.of());
        }
    }

    private static Set<String> found(Report report) {
        return report.findings().stream().map(f -> f.check() + " " + f.object()).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    private Set<String> planted() {
        return Set.of(
                "index.duplicate public.customers_email_idx",
                "index.duplicate public.customers_region_idx",
                "index.duplicate public.customers_id_idx",
                "index.unused public.orders_note_idx",
                "index.invalid public.orders_status_idx",
                "index.fk_without_index public.orders (customer_id)",
                "index.bloat public.bloated_payload_idx",
                "query.seq_scan public.orders (customer_id)",
                "query.jsonb_without_gin public.profiles (data)",
                "query.jsonb_without_gin public.tags (attrs)",
                "query.like_without_trigram public.notes (body)",
                "vacuum.table_bloat public.bloated",
                "vacuum.dead_tuples public.churned",
                "vacuum.stale_statistics public.imported",
                "vacuum.stale_statistics public.events",
                "vacuum.autovacuum_settings public.churned",
                "vacuum.autovacuum_settings public.imported",
                "vacuum.autovacuum_settings public.hot_counters",
                "runtime.idle_in_transaction pid " + planted.idlePid,
                "runtime.idle_in_transaction pid " + planted.blockerPid,
                "runtime.lock_waits pid " + planted.blockedPid,
                "runtime.long_running pid " + planted.sleeperPid,
                "runtime.replication_slots " + PlantedDatabase.SLOT,
                "runtime.sequence_overflow public.tickets_id_seq",
                "partition.future public.events",
                "partition.default_rows public.events_default",
                "partition.retention public.events");
    }

    @Test
    @Order(1)
    void finds_every_planted_problem_with_the_sql_that_fixes_it() {
        assertThat(found(report)).containsAll(planted());
        assertThat(report.findings()).filteredOn(f -> planted().contains(f.check() + " " + f.object()))
                .allSatisfy(f -> assertThat(f.fix().statements()).as("fix for %s %s", f.check(), f.object()).isNotEmpty());
        assertThat(report.skipped()).as("no check failed").noneMatch(n -> n.reason().startsWith("failed"));
    }

    @Test
    @Order(1)
    void names_who_blocks_whom_and_the_session_to_end() {
        Finding wait = finding(report, "runtime.lock_waits", "pid " + planted.blockedPid);

        assertThat(wait.evidence().get("head_of_chain")).isEqualTo(List.of(planted.blockerPid));
        assertThat(wait.evidence().get("lock").toString()).contains("accounts");
        assertThat(wait.fix().statements()).containsExactly("SELECT pg_terminate_backend(" + planted.blockerPid + ");");
    }

    @Test
    @Order(1)
    void suggests_jsonb_path_ops_only_when_containment_is_all_that_is_used() {
        assertThat(finding(report, "query.jsonb_without_gin", "public.profiles (data)").fix().statements())
                .containsExactly("CREATE INDEX CONCURRENTLY ON public.profiles USING gin (data jsonb_path_ops);");
        Finding keyExists = finding(report, "query.jsonb_without_gin", "public.tags (attrs)");
        assertThat(keyExists.fix().statements()).containsExactly("CREATE INDEX CONCURRENTLY ON public.tags USING gin (attrs);");
        assertThat(keyExists.summary()).contains("jsonb_path_ops, which cannot serve");
    }

    @Test
    @Order(1)
    void says_the_index_suggestions_are_not_cost_confirmed_without_hypopg() {
        assertThat(report.limited()).anySatisfy(n -> {
            assertThat(n.check()).isEqualTo("query.seq_scan");
            assertThat(n.reason()).contains("HypoPG is not installed");
        });
        assertThat(finding(report, "query.seq_scan", "public.orders (customer_id)").evidence().get("cost_confirmed"))
                .isEqualTo("no: HypoPG is not installed");
    }

    @Test
    @Order(1)
    void judges_memory_settings_against_the_machine_it_is_told_about() {
        Finding sharedBuffers = finding(report, "settings", "shared_buffers");

        assertThat(sharedBuffers.evidence().get("machine_memory_bytes")).isEqualTo(SIXTEEN_GB);
        assertThat(sharedBuffers.fix().statements().get(0)).isEqualTo("ALTER SYSTEM SET shared_buffers = '4096MB';");
    }

    @Test
    @Order(1)
    void as_a_pg_monitor_role_it_still_audits_and_says_what_it_could_not_see() throws SQLException {
        try (Connection admin = server.connect(planted.name)) {
            PlantedDatabase.run(admin, "DROP ROLE IF EXISTS " + MONITOR_ROLE, "CREATE ROLE " + MONITOR_ROLE + " LOGIN",
                    "GRANT pg_monitor TO " + MONITOR_ROLE);
        }
        Report monitored = audit(server.target(planted.name, MONITOR_ROLE));

        assertThat(monitored.server().superuser()).isFalse();
        assertThat(found(monitored)).contains("index.duplicate public.customers_email_idx", "index.unused public.orders_note_idx",
                "runtime.idle_in_transaction pid " + planted.idlePid, "runtime.lock_waits pid " + planted.blockedPid,
                "vacuum.dead_tuples public.churned", "partition.future public.events");
        assertThat(monitored.limited()).extracting(Note::reason).anySatisfy(r -> assertThat(r).contains("permission denied"));
        assertThat(monitored.limited()).extracting(Note::reason).anySatisfy(r -> assertThat(r).contains("sequence(s) not assessed"));
        assertThat(monitored.skipped()).noneMatch(n -> n.reason().startsWith("failed"));
    }

    @Test
    @Order(2)
    void finds_rows_in_parleys_catch_all_partitions_and_loses_them_once_the_months_exist() {
        ConnectionTarget target = server.migrated("doctor_parley");
        try (Connection c = server.connect("doctor_parley")) {
            PlantedDatabase.run(c, "INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content) "
                    + "VALUES (1, 1, 1, " + (Ids.floorOf(Instant.now()) + 1) + ", 1, now(), 'user', 'hello')");
            PlantedDatabase.flushStatistics(c);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }

        Report before = audit(target);
        assertThat(found(before)).contains("partition.future public.messages", "partition.default_rows public.messages_after");
        assertThat(finding(before, "partition.future", "public.messages").fix().statements().get(0)).contains("parley partitions --ensure");

        try (Database database = TestDatabase.pool(target, 2)) {
            new Partitions(database).ensureAhead(Instant.now(), FuturePartitions.AHEAD); // what parley partitions --ensure does
        }
        assertThat(found(audit(target))).doesNotContain("partition.future public.messages", "partition.default_rows public.messages_after");
    }

    @Test
    @Order(2)
    void reports_a_cache_that_serves_few_block_reads() throws Exception {
        ConnectionTarget target = server.fresh("doctor_cache");
        try (Connection c = server.connect("doctor_cache")) {
            PlantedDatabase.run(c, "CREATE EXTENSION pg_buffercache");
            try (var rows = c.createStatement().executeQuery("SELECT to_regproc('pg_buffercache_evict') IS NOT NULL")) {
                rows.next();
                assumeTrue(rows.getBoolean(1), "evicting a buffer on demand needs PostgreSQL 17");
            }
            PlantedDatabase.run(c, "CREATE TABLE cold (id bigint, pad text)",
                    "INSERT INTO cold SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g", "SELECT pg_stat_reset()");
            for (int i = 0; i < 15; i++) { // each scan finds none of the table in shared_buffers
                PlantedDatabase.run(c, "SELECT count(pg_buffercache_evict(bufferid)) FROM pg_buffercache "
                        + "WHERE relfilenode = pg_relation_filenode('cold')", "SELECT count(*) FROM cold");
            }
            PlantedDatabase.flushStatistics(c);
        }

        Finding cache = finding(audit(target), "runtime.cache_hit_ratio", "doctor_cache tables");

        assertThat(cache.severity()).isEqualTo(Severity.WARNING);
        assertThat(cache.evidence().get("most_read_tables").toString()).contains("public.cold");
        assertThat(cache.fix().statements().get(0)).isEqualTo("ALTER SYSTEM SET shared_buffers = '4096MB';");
    }

    @Test
    @Order(3)
    void applying_each_printed_fix_makes_its_finding_disappear() throws Exception {
        Report before = audit(planted.target);
        List<Finding> fixed = before.findings().stream()
                .filter(f -> planted().contains(f.check() + " " + f.object())).toList();
        // Sessions first: an open transaction makes CREATE INDEX CONCURRENTLY wait for it to end.
        apply(fixed.stream().filter(f -> f.check().startsWith("runtime.")).toList());
        try (Connection watch = server.connect(planted.name)) {
            PlantedDatabase.waitFor(watch, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid IN (" + planted.idlePid + ", "
                    + planted.blockerPid + ") OR (pid IN (" + planted.sleeperPid + ", " + planted.blockedPid + ") AND state <> 'idle')");
        }
        apply(fixed.stream().filter(f -> !f.check().startsWith("runtime.")).toList());

        Set<String> after = found(audit(planted.target));
        assertThat(fixed).hasSameSizeAs(planted());
        assertThat(after).doesNotContainAnyElementsOf(planted());
    }

    /** Runs the fixes' statements as an operator would paste them into psql: in order, each once, outside a transaction. */
    private void apply(List<Finding> findings) throws SQLException {
        Set<String> done = new LinkedHashSet<>();
        List<String> failures = new ArrayList<>();
        try (Connection c = server.connect(planted.name); Statement s = c.createStatement()) {
            s.setEscapeProcessing(false);
            for (Finding f : findings) {
                for (String sql : f.fix().executable()) {
                    if (done.add(sql)) {
                        try {
                            s.execute(sql);
                        } catch (SQLException e) {
                            failures.add(sql + ": " + e.getMessage());
                        }
                    }
                }
            }
        }
        assertThat(failures).as("fix statements that failed").isEmpty();
    }

    private static Finding finding(Report report, String check, String object) {
        return report.findings().stream().filter(f -> f.check().equals(check) && f.object().equals(object)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + check + " finding for " + object + " in " + found(report)));
    }
}
