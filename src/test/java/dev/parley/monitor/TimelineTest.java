package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.QueryLog;
import dev.parley.metrics.Metrics;
import dev.parley.metrics.Slowest;
import dev.parley.support.SteppingClock;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class TimelineTest {
    @Test
    void a_window_covers_the_readings_nearest_its_span_when_readings_come_a_little_early() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            for (int i = 0; i <= 14; i++) { // every 5 s, as PARLEY_ADMIN_SAMPLE, give or take: here a few ms early
                timeline.sample();
                clock.advance(4_995);
            }

            double minute = timeline.overview(Duration.ofMinutes(1)).windowSeconds();
            double second = timeline.overview(Duration.ofSeconds(1)).windowSeconds();

            assertThat(minute).isBetween(57.5, 62.5); // "last 65 s" before
            assertThat(second).as("a window shorter than a reading's interval still spans one").isGreaterThan(0);
        }
    }

    /**
     * At a fixed rate, the samples a held-up one made late all ran at once when it returned: 5 readings within 10 ms
     * during a 12 s SIGSTOP of PostgreSQL. Each comes an interval after the last ended; one that throws does not stop them.
     */
    @Test
    void samples_held_up_past_their_interval_are_not_run_back_to_back_to_catch_up() throws Exception {
        List<long[]> runs = new CopyOnWriteArrayList<>(); // {started, ended} in ns
        var executor = Executors.newSingleThreadScheduledExecutor();
        try {
            Timeline.repeat(executor, Duration.ofMillis(50), () -> {
                long started = System.nanoTime();
                if (runs.isEmpty()) {
                    sleep(400); // held up: seven more intervals pass meanwhile
                }
                runs.add(new long[] {started, System.nanoTime()});
                if (runs.size() == 2) {
                    throw new IllegalStateException("a sample that failed");
                }
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (runs.size() < 5 && System.nanoTime() < deadline) {
                sleep(20);
            }
        } finally {
            executor.shutdownNow();
        }

        assertThat(runs).as("runs, one of them failed").hasSizeGreaterThanOrEqualTo(5);
        for (int i = 1; i < 5; i++) {
            long pauseMillis = (runs.get(i)[0] - runs.get(i - 1)[1]) / 1_000_000;
            assertThat(pauseMillis).as("ms between the end of run %d and the start of the next", i).isGreaterThanOrEqualTo(45);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void while_the_database_cannot_be_read_its_last_figures_are_marked_stale_with_their_age() throws Exception {
        var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
        var registry = new SimpleMeterRegistry();
        Timeline timeline;
        DatabaseStats stats;
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            stats = new DatabaseStats(database, clock, registry);
            timeline = new Timeline(registry, new Slowest(), stats, clock);
            sample(stats, timeline);
            clock.advance(5_000);
            sample(stats, timeline);
            assertThat(timeline.overview(Duration.ofMinutes(1)).database().stale()).isFalse();
        }
        for (int i = 0; i < 5; i++) { // the pool is closed: every reading fails
            clock.advance(5_000);
            sample(stats, timeline);
        }

        Overview.Database database = timeline.overview(Duration.ofMinutes(1)).database();
        assertThat(database.stale()).isTrue();
        assertThat(database.readingAgeSeconds()).isEqualTo(25);
        assertThat(OverviewText.render(timeline.overview(Duration.ofMinutes(1)), "x", false))
                .contains("no reading for 25 s: PostgreSQL's statistics cannot be read");
    }

    /**
     * A crash of PostgreSQL, like pg_stat_reset(), starts pg_stat_database's counters again from 0: the overview, the
     * monitor and the dashboard read -43.7 transactions a second until the window had passed the restart.
     */
    @Test
    void counters_postgresql_started_again_from_0_count_their_new_values_never_a_negative_rate() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1);
             Connection session = TestDatabase.get().connect("parley_timeline")) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var stats = new DatabaseStats(database, clock, registry);
            var timeline = new Timeline(registry, new Slowest(), stats, clock);
            transactions(session, 200, 20);
            execute(session, "SET work_mem = '64kB'",
                    "SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) AS spilled");
            execute(session, "SELECT pg_stat_force_next_flush()"); // a backend publishes its counters once a second at most
            sample(stats, timeline);
            clock.advance(5_000);
            execute(session, "SELECT pg_stat_reset()");
            transactions(session, 50, 5);
            execute(session, "SELECT pg_stat_force_next_flush()");
            sample(stats, timeline);

            Overview.Database after = timeline.overview(Duration.ofSeconds(5)).database();

            assertThat(after.transactionsPerSecond()).as("the 50 committed since the reset, over 5 s").isGreaterThanOrEqualTo(10);
            assertThat(after.rollbacksPerSecond()).isGreaterThanOrEqualTo(1);
            assertThat(after.tempBytesPerSecond()).isNotNegative();
        }
    }

    /**
     * PostgreSQL's statistics are read apart from the meters, so that a database that stops answering does not hold up
     * the requests' figures: at the start of a SIGSTOP, the overview's request rate and 5xx stood still for 5 s, and said
     * the database's figures were 0 s old and not stale.
     */
    @Test
    void the_request_figures_go_on_while_a_reading_of_postgresql_waits_for_an_answer() throws Exception {
        // a minute's wait for a connection: the reading of PostgreSQL's statistics waits, as for a stopped server
        try (Database database = Database.connect(TestDatabase.get().migrated("parley_timeline"), 1, Duration.ofMinutes(1),
                QueryLog.quiet(), null)) {
            var clock = new TestClock();
            var registry = new SimpleMeterRegistry();
            var timer = io.micrometer.core.instrument.Timer.builder(Metrics.HTTP_SECONDS).tags("method", "GET", "route", "/x")
                    .serviceLevelObjectives(Metrics.HTTP_BUCKETS).register(registry);
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            var databaseThread = Executors.newSingleThreadScheduledExecutor();
            var metersThread = Executors.newSingleThreadScheduledExecutor();
            try {
                database.read(handle -> { // the pool's one connection, held
                    timeline.sampleEvery(databaseThread, metersThread, Duration.ofMillis(20));
                    Wait.until("a reading of the meters", Duration.ofSeconds(20),
                            () -> timeline.overview(Duration.ofMinutes(1)).windowSeconds() > 0);
                    timer.record(Duration.ofMillis(3));
                    return Wait.until("the request in the overview", Duration.ofSeconds(20),
                            () -> timeline.overview(Duration.ofMinutes(1)).requests().perSecond() > 0);
                });
            } finally {
                databaseThread.shutdownNow();
                metersThread.shutdownNow();
            }
        }
    }

    @Test
    void the_age_of_postgresqls_figures_runs_to_when_the_overview_is_asked_for() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var stats = new DatabaseStats(database, clock, registry);
            var timeline = new Timeline(registry, new Slowest(), stats, clock);
            sample(stats, timeline);
            clock.advance(5_000);
            sample(stats, timeline);
            clock.advance(4_000); // no reading since: the database not answering, say

            assertThat(timeline.overview(Duration.ofMinutes(1)).database().readingAgeSeconds()).isEqualTo(4);
            assertThat(registry.get(Metrics.DB_READING_AGE).gauge().value()).as("as /metrics says").isEqualTo(4);
        }
    }

    private static void sample(DatabaseStats stats, Timeline timeline) {
        stats.sample();
        timeline.sample();
    }

    private static void transactions(Connection session, int committed, int rolledBack) throws SQLException {
        for (int i = 0; i < committed; i++) {
            execute(session, "SELECT 1");
        }
        session.setAutoCommit(false);
        for (int i = 0; i < rolledBack; i++) {
            execute(session, "SELECT 1");
            session.rollback();
        }
        session.setAutoCommit(true);
    }

    private static void execute(Connection session, String... statements) throws SQLException {
        try (Statement statement = session.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    @Test
    void a_windows_latencies_never_exceed_the_largest_its_readings_held() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var slowest = new Slowest();
            var timer = slowest.track(io.micrometer.core.instrument.Timer.builder(Metrics.HTTP_SECONDS)
                    .tags("method", "GET", "route", "/x").serviceLevelObjectives(Metrics.QUERY_BUCKETS).register(registry));
            var timeline = new Timeline(registry, slowest, new DatabaseStats(database, clock, registry), clock);
            timeline.sample();
            clock.advance(5_000);
            timer.record(Duration.ofMillis(2074).toNanos());
            timeline.sample();
            clock.advance(5_000);
            timeline.sample();

            Overview overview = timeline.overview(Duration.ofSeconds(10));

            assertThat(overview.requests().p50Ms()).isEqualTo(2074.0);
            assertThat(overview.requests().p99Ms()).isEqualTo(2074.0);
            assertThat(overview.routes()).singleElement().satisfies(route -> assertThat(route.p99Ms()).isEqualTo(2074.0));
        }
    }

    /**
     * A timer's own maximum decays over two minutes: a 4.9 s request raised the percentiles of the windows after it, and
     * one whose slowest request took 1.1 s read a p99 of 4,900 ms, its bucket's (1 s, 5 s] interpolation under that cap.
     */
    @Test
    void a_windows_percentiles_never_exceed_its_own_slowest_request_however_slow_one_before_it_was() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var slowest = new Slowest();
            var timer = slowest.track(io.micrometer.core.instrument.Timer.builder(Metrics.HTTP_SECONDS)
                    .tags("method", "GET", "route", "/x").serviceLevelObjectives(Metrics.HTTP_BUCKETS).register(registry));
            var timeline = new Timeline(registry, slowest, new DatabaseStats(database, clock, registry), clock);
            timeline.sample();
            clock.advance(5_000);
            timer.record(Duration.ofMillis(4900).toNanos());
            timeline.sample();
            clock.advance(5_000);
            timer.record(Duration.ofMillis(1100).toNanos());
            timeline.sample();

            Overview window = timeline.overview(Duration.ofSeconds(5));

            assertThat(window.requests().p50Ms()).isEqualTo(1100.0);
            assertThat(window.requests().p99Ms()).isEqualTo(1100.0);
            assertThat(window.routes()).singleElement().satisfies(route -> assertThat(route.p99Ms()).isEqualTo(1100.0));
            assertThat(timeline.overview(Duration.ofSeconds(10)).requests().p99Ms()).as("with the 4.9 s one").isEqualTo(4900.0);
        }
    }

    @Test
    void slow_statements_are_those_of_the_window_as_every_other_figure_is() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var slow = registry.counter(Metrics.SLOW_QUERIES);
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            slow.increment(5); // before the window
            for (int i = 0; i <= 12; i++) {
                timeline.sample();
                clock.advance(5_000);
                if (i == 11) {
                    slow.increment(2);
                }
            }

            assertThat(timeline.overview(Duration.ofSeconds(30)).slowQueries()).isEqualTo(2);
            assertThat(timeline.overview(Duration.ofMinutes(1)).slowQueries()).isEqualTo(2);
        }
    }

    /** The monitor printed 'refused 15', a count since the start, under a header that says 'last 60 s'. */
    @Test
    void the_requests_the_pool_refused_are_those_of_the_window_as_every_other_figure_is() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var refused = registry.counter(Metrics.POOL_REJECTED, Metrics.POOL_REJECTED_RESOURCE, "connections");
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            refused.increment(15); // before the window
            timeline.sample();
            clock.advance(5_000);
            refused.increment(2);
            timeline.sample();

            Overview window = timeline.overview(Duration.ofSeconds(5));

            assertThat(window.pool().rejected()).isEqualTo(2);
            assertThat(OverviewText.render(window, "x", false)).contains("refused 2").doesNotContain("refused 17");
        }
    }

    /** The background pool and each replica's have HikariCP's meters too: the overview's pool is the requests'. */
    @Test
    void the_pool_shown_is_the_one_requests_use() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            registry.gauge("hikaricp.connections.max", Tags.of("pool", "parley-background"), 4);
            registry.gauge("hikaricp.connections.max", Tags.of("pool", "parley-replica-10.0.0.2:5432"), 8);
            registry.gauge("hikaricp.connections.max", Tags.of("pool", "parley"), 20);
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            timeline.sample();

            assertThat(timeline.overview(Duration.ofMinutes(1)).pool().size()).isEqualTo(20);
        }
    }

    @Test
    void the_pools_waiting_are_the_requests_waiting_their_turn_not_hikaricps_pending_which_stays_0() throws Exception {
        try (Database database = TestDatabase.pool(TestDatabase.get().migrated("parley_timeline"), 1)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            registry.gauge("hikaricp.connections.pending", 0);
            registry.gauge(Metrics.POOL_WAITING, Tags.of("waiting_for", "app_share"), 2);
            registry.gauge(Metrics.POOL_WAITING, Tags.of("waiting_for", "connection"), 1);
            var timeline = new Timeline(registry, new Slowest(), new DatabaseStats(database, clock, registry), clock);
            timeline.sample();

            assertThat(timeline.overview(Duration.ofMinutes(1)).pool().waiting()).isEqualTo(3);
        }
    }
}
