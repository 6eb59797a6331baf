package dev.parley.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.QueryLog;
import dev.parley.lifecycle.Archive;
import dev.parley.support.Ports;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The scheduled refresh runs when an interval has passed since the last one, by the clock it is given: no sleeping. */
class AnalyticsRefreshTest {
    private static final String DB = "parley_analytics_refresh";
    private static final Duration INTERVAL = Duration.ofMinutes(5);
    private static Database database;

    @BeforeAll
    static void start() {
        database = TestDatabase.pool(TestDatabase.get().migrated(DB), 2);
    }

    @AfterAll
    static void stop() {
        database.close();
    }

    @Test
    void a_scheduled_refresh_runs_once_per_interval_and_brings_new_rows_in() throws SQLException {
        var clock = new TestClock();
        var refresh = new AnalyticsRefresh(database, clock, INTERVAL);
        var analytics = new Analytics(database);
        refresh.refresh(); // the last refresh is now, by this clock
        long app = startConversation();
        LocalDate today = LocalDate.now(ZoneOffset.UTC);

        boolean tooSoon = refresh.refreshIfDue();
        int seenBefore = analytics.conversationsStarted(app, today, today).days().size();
        clock.advance(INTERVAL);
        boolean due = refresh.refreshIfDue();
        boolean again = refresh.refreshIfDue();

        assertThat(tooSoon).isFalse();
        assertThat(seenBefore).isZero();
        assertThat(due).isTrue();
        assertThat(again).isFalse();
        assertThat(analytics.conversationsStarted(app, today, today).days())
                .extracting(Analytics.ConversationsStarted::conversations).containsExactly(1L);
    }

    @Test
    void refreshes_asked_for_at_once_share_the_one_that_begins_after_them() throws Exception {
        var refresh = new AnalyticsRefresh(database, new TestClock(), INTERVAL);
        try (Connection holder = TestDatabase.get().connect(DB); var s = holder.createStatement();
             var callers = Executors.newVirtualThreadPerTaskExecutor()) {
            s.execute("CREATE TABLE test_refreshes (at timestamptz)"); // a row per refresh recorded
            s.execute("""
                    CREATE FUNCTION test_count_refresh() RETURNS trigger LANGUAGE plpgsql
                    AS $$ BEGIN INSERT INTO test_refreshes VALUES (now()); RETURN NEW; END $$""");
            s.execute("CREATE TRIGGER test_count_refresh AFTER UPDATE ON analytics_refresh FOR EACH ROW "
                    + "EXECUTE FUNCTION test_count_refresh()");
            try {
                s.execute("SELECT pg_advisory_lock(" + AnalyticsRefresh.LOCK + ")"); // a refresh running elsewhere
                var first = callers.submit(refresh::refresh);
                Wait.until("the first refresh to wait for the one running", Duration.ofSeconds(10), () -> waitsOnAdvisoryLock(s));
                List<java.util.concurrent.Future<AnalyticsRefresh.Refreshed>> more = new java.util.ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    more.add(callers.submit(refresh::refresh));
                }
                Wait.until("five more to wait for the refresh after it", Duration.ofSeconds(10), () -> refresh.waitingCallers() == 5);
                s.execute("SELECT pg_advisory_unlock(" + AnalyticsRefresh.LOCK + ")");

                var firstDone = first.get(30, TimeUnit.SECONDS);
                var shared = more.stream().map(f -> {
                    try {
                        return f.get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }).distinct().toList();

                assertThat(shared).as("one refresh, begun after each of the five asked").hasSize(1);
                assertThat(shared.getFirst()).isNotEqualTo(firstDone);
                try (var rows = s.executeQuery("SELECT count(*) FROM test_refreshes")) {
                    rows.next();
                    assertThat(rows.getLong(1)).as("refreshes run for six callers").isEqualTo(2);
                }
            } finally {
                s.execute("DROP TRIGGER test_count_refresh ON analytics_refresh");
                s.execute("DROP FUNCTION test_count_refresh()");
                s.execute("DROP TABLE test_refreshes");
            }
        }
    }

    private static boolean waitsOnAdvisoryLock(java.sql.Statement s) throws SQLException {
        try (var rows = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = '"
                + DB + "'")) {
            rows.next();
            return rows.getLong(1) > 0;
        }
    }

    @Test
    void after_a_long_refresh_the_next_waits_ten_times_as_long() throws SQLException {
        var clock = new TestClock();
        var refresh = new AnalyticsRefresh(database, clock, INTERVAL);
        refresh.refresh();
        try (Connection connection = TestDatabase.get().connect(DB); var s = connection.createStatement()) {
            s.execute("UPDATE analytics_refresh SET took_ms = 60000"); // as if it had taken a minute
        }

        clock.advance(INTERVAL);
        boolean afterAnInterval = refresh.refreshIfDue();
        clock.advance(Duration.ofMinutes(10).minus(INTERVAL).minusSeconds(1));
        boolean justBefore = refresh.refreshIfDue();
        clock.advance(Duration.ofSeconds(1));
        boolean afterTenMinutes = refresh.refreshIfDue();

        assertThat(afterAnInterval).isFalse();
        assertThat(justBefore).isFalse();
        assertThat(afterTenMinutes).isTrue();
    }

    @Test
    void an_archived_month_is_counted_once_by_whichever_instance_holds_the_refresh_lock() throws SQLException {
        var refresh = new AnalyticsRefresh(database, new TestClock(), INTERVAL);
        YearMonth month = YearMonth.of(2020, 1);
        try (Connection other = TestDatabase.get().connect(DB); var s = other.createStatement()) {
            s.execute("CREATE TABLE " + Archive.SCHEMA + "." + Partitions.nameOf(month) + " PARTITION OF " + Partitions.ARCHIVE
                    + " FOR VALUES FROM (%d) TO (%d)".formatted(Partitions.floorOf(month), Partitions.floorOf(month.plusMonths(1))));
            other.setAutoCommit(false);
            s.execute("SELECT pg_advisory_xact_lock(" + AnalyticsRefresh.LOCK + ")"); // another instance refreshing
            assertThat(refresh.countArchivedMonths(false)).as("while another instance holds the lock").isZero();
            other.rollback();
        }

        assertThat(refresh.countArchivedMonths(false)).isOne();
        assertThat(refresh.countArchivedMonths(false)).as("counted already").isZero();
    }

    @Test
    void a_month_that_cannot_be_counted_is_left_to_the_next_refresh_and_the_views_are_refreshed_all_the_same() throws SQLException {
        var refresh = new AnalyticsRefresh(database, new TestClock(), INTERVAL);
        YearMonth month = YearMonth.of(2019, 1);
        String name = Partitions.nameOf(month);
        try (Connection sql = TestDatabase.get().connect(DB); var s = sql.createStatement()) {
            s.execute("CREATE TABLE " + Archive.SCHEMA + "." + name + " PARTITION OF " + Partitions.ARCHIVE
                    + " FOR VALUES FROM (%d) TO (%d)".formatted(Partitions.floorOf(month), Partitions.floorOf(month.plusMonths(1))));
            s.execute("ALTER TABLE analytics_archived_months ADD CONSTRAINT test_refuses CHECK (month_name <> '" + name + "')");
            try {
                assertThatCode(refresh::refresh).doesNotThrowAnyException();
                assertThat(refresh.countArchivedMonths(true)).isZero();
            } finally {
                s.execute("ALTER TABLE analytics_archived_months DROP CONSTRAINT test_refuses");
            }
        }
        assertThat(refresh.countArchivedMonths(true)).isOne();
    }

    @Test
    void a_refresh_the_database_is_down_for_logs_one_warning_without_a_stack_trace() throws IOException {
        List<ILoggingEvent> lines;
        try (Database unreachable = Database.connect(Ports.unreachableDatabase(), 1, Duration.ofMillis(500), QueryLog.quiet(), null)) {
            var refresh = new AnalyticsRefresh(unreachable, new TestClock(), INTERVAL);
            lines = logged(refresh::refreshIfDueLogged);
        }

        assertThat(lines).singleElement().satisfies(line -> {
            assertThat(line.getLevel()).isEqualTo(Level.WARN);
            assertThat(line.getFormattedMessage()).startsWith("the analytics refresh did not run (the database is not reachable")
                    .endsWith("it runs again in 5m");
            assertThat(line.getThrowableProxy()).as("an outage is expected: no stack trace").isNull();
        });
    }

    @Test
    void an_unexpected_refresh_failure_keeps_its_stack_trace() {
        // A database without Parley's tables: every statement of the refresh fails, as a bug would make it.
        try (Database bare = TestDatabase.pool(TestDatabase.get().fresh("parley_analytics_bare"), 1)) {
            var refresh = new AnalyticsRefresh(bare, new TestClock(), INTERVAL);
            List<ILoggingEvent> lines = logged(refresh::refreshIfDueLogged);

            assertThat(lines).singleElement().satisfies(line -> {
                assertThat(line.getFormattedMessage()).startsWith("the analytics refresh failed");
                assertThat(line.getThrowableProxy()).isNotNull();
            });
        }
    }

    /** What AnalyticsRefresh logs while {@code work} runs. */
    private static List<ILoggingEvent> logged(Runnable work) {
        var logger = (Logger) LoggerFactory.getLogger(AnalyticsRefresh.class);
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        logger.addAppender(appender);
        try {
            work.run();
            return List.copyOf(appender.list);
        } finally {
            logger.detachAppender(appender);
        }
    }

    private static long startConversation() throws SQLException {
        try (Connection connection = TestDatabase.get().connect(DB); var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('refresh-" + System.nanoTime() + "')");
            s.execute("INSERT INTO users (app_id, external_id) SELECT max(app_id), 'u' FROM apps");
            s.execute("INSERT INTO characters (app_id, name) SELECT max(app_id), 'c' FROM apps");
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id, created_at,
                                               last_activity_at, updated_at)
                    SELECT app_id, 1, user_id, (SELECT max(character_id) FROM characters), 1, now(), now(), now()
                      FROM users WHERE user_id = (SELECT max(user_id) FROM users)""");
            try (var rows = s.executeQuery("SELECT max(app_id) FROM apps")) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }
}
