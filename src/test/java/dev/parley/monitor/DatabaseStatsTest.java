package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.db.QueryLog;
import dev.parley.monitor.DatabaseReading.TableSize;
import dev.parley.support.SteppingClock;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class DatabaseStatsTest {
    private static final String DB = "parley_database_stats";

    /** A pool on the test's database, migrated, with pg_stat_statements as the embedded database has it. */
    private static Database withStatementStatistics() throws Exception {
        ConnectionTarget target = TestDatabase.get().migrated(DB);
        try (var connection = TestDatabase.get().connect(DB)) {
            connection.createStatement().execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        }
        return TestDatabase.pool(target, 2);
    }

    @Test
    void statements_sharing_a_name_are_summed_into_one_row_and_one_series() throws Exception {
        try (Database database = withStatementStatistics()) {
            var twins = List.of(new Query("test.twin", "SELECT pg_sleep(0.05)"), new Query("test.twin", "SELECT pg_sleep(0.05), 1"));
            for (int i = 0; i < 3; i++) { // two texts, two pg_stat_statements rows, one name
                for (Query twin : twins) {
                    database.read(handle -> handle.first(twin, row -> 1));
                }
            }
            var registry = new SimpleMeterRegistry();
            var stats = new DatabaseStats(database, Clock.systemUTC(), registry);

            stats.sample();

            var twin = stats.latest().orElseThrow().statements().stream().filter(s -> s.query().equals("test.twin")).toList();
            assertThat(twin).singleElement().satisfies(s -> {
                assertThat(s.calls()).isEqualTo(6);
                assertThat(s.totalMillis()).isGreaterThanOrEqualTo(6 * 50);
            });
            assertThat(registry.find("parley.db.statement.calls").tag("query", "test.twin").gauges()).hasSize(1);
            assertThat(registry.get("parley.db.statement.calls").tag("query", "test.twin").gauge().value()).isEqualTo(6);
        }
    }

    /**
     * Removing a series and adding it again at every reading let a Prometheus scrape in between see it twice
     * and answer /metrics with a 500 (DuplicateLabelsException, micrometer#6851): a series that stays is updated.
     */
    @Test
    void a_series_that_stays_from_one_reading_to_the_next_keeps_its_gauge_and_shows_the_new_value() throws Exception {
        try (Database database = withStatementStatistics()) {
            var counted = new Query("test.counted", "SELECT 42");
            database.read(handle -> handle.first(counted, row -> 1));
            var registry = new SimpleMeterRegistry();
            List<Meter.Id> removed = new CopyOnWriteArrayList<>();
            registry.config().onMeterRemoved(meter -> removed.add(meter.getId()));
            var stats = new DatabaseStats(database, Clock.systemUTC(), registry);
            stats.sample();
            Gauge first = registry.get("parley.db.statement.calls").tag("query", "test.counted").gauge();
            double before = first.value();

            database.read(handle -> handle.first(counted, row -> 1));
            database.read(handle -> handle.first(counted, row -> 1));
            stats.sample();

            assertThat(removed).as("series removed by the second reading").noneMatch(id -> "test.counted".equals(id.getTag("query")));
            assertThat(registry.get("parley.db.statement.calls").tag("query", "test.counted").gauge()).isSameAs(first);
            assertThat(first.value()).isEqualTo(before + 2);
        }
    }

    /** What a sample must not wait for: the pool's lock timeout, as PARLEY_LOCK_TIMEOUT (2 s) is in production. */
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(1);

    /** A pool on a database of its own whose statements wait at most {@link #LOCK_TIMEOUT} for a lock, as the service's do. */
    private static Database withLockTimeout(String name) {
        ConnectionTarget target = TestDatabase.get().migrated(name);
        var options = new Database.PoolOptions(2, Duration.ofSeconds(5), 1.0, List.of(), new Database.Limits(null, LOCK_TIMEOUT));
        return Database.connect(target, options, QueryLog.quiet(), null, null);
    }

    /**
     * The sizes' query opened every table (pg_total_relation_size), so a table locked ACCESS EXCLUSIVE made it wait out
     * the lock timeout and the whole reading was thrown away: lock waits and the oldest transaction froze during exactly
     * the pile-up they are there to show. Now the rest of the reading goes on, and the locked table keeps its last size.
     */
    @Test
    void a_table_locked_exclusively_keeps_its_last_size_and_the_rest_of_the_reading_goes_on() throws Exception {
        String name = "parley_database_stats_locked";
        try (Database database = withLockTimeout(name); Connection locker = TestDatabase.get().connect(name);
             Connection queued = TestDatabase.get().connect(name); Connection watcher = TestDatabase.get().connect(name)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var registry = new SimpleMeterRegistry();
            var stats = new DatabaseStats(database, clock, registry);
            stats.sample();
            Instant sizesRead = clock.instant();
            long charactersBytes = characters(stats.latest().orElseThrow()).bytes();

            locker.setAutoCommit(false);
            locker.createStatement().execute("LOCK TABLE characters IN ACCESS EXCLUSIVE MODE");
            var reader = CompletableFuture.runAsync(() -> execute(queued, "SELECT count(*) FROM characters"));
            awaitLockWaits(watcher, 1);
            clock.advance(Duration.ofMinutes(1).plusSeconds(1).toMillis()); // the sizes are due again
            long start = System.nanoTime();
            stats.sample();
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            locker.rollback();
            reader.get();

            DatabaseReading during = stats.latest().orElseThrow();
            assertThat(during.at()).as("the reading taken while the table was locked").isEqualTo(clock.instant());
            assertThat(during.lockWaits()).isGreaterThanOrEqualTo(1);
            assertThat(registry.get("parley.db.lock.waits").gauge().value()).isGreaterThanOrEqualTo(1);
            assertThat(during.connections().get("idle_in_transaction")).isGreaterThanOrEqualTo(1);
            assertThat(characters(during).bytes()).as("the locked table's last size").isEqualTo(charactersBytes);
            assertThat(during.sizesAt()).as("the oldest size published: the locked table's").isEqualTo(sizesRead);
            assertThat(tookMillis).as("ms the sample took: it did not queue for the lock").isLessThan(LOCK_TIMEOUT.toMillis());

            clock.advance(Duration.ofMinutes(1).plusSeconds(1).toMillis());
            stats.sample();
            assertThat(stats.latest().orElseThrow().sizesAt()).as("every size read again once the lock is gone").isEqualTo(clock.instant());
        }
    }

    /**
     * The same when the exclusive lock is only waited for (an ALTER TABLE behind a long reader): opening the table would
     * queue behind the ALTER, and hold up nothing less than every request that queues behind it in turn.
     */
    @Test
    void a_table_an_exclusive_lock_is_waited_for_is_not_opened_either() throws Exception {
        String name = "parley_database_stats_alter_waits";
        try (Database database = withLockTimeout(name); Connection reader = TestDatabase.get().connect(name);
             Connection alterer = TestDatabase.get().connect(name); Connection watcher = TestDatabase.get().connect(name)) {
            var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
            var stats = new DatabaseStats(database, clock, new SimpleMeterRegistry());
            stats.sample();
            Instant sizesRead = clock.instant();

            reader.setAutoCommit(false);
            reader.createStatement().execute("SELECT count(*) FROM characters");
            alterer.setAutoCommit(false);
            var alter = CompletableFuture.runAsync(() -> execute(alterer, "ALTER TABLE characters ADD COLUMN x int"));
            awaitLockWaits(watcher, 1);
            clock.advance(Duration.ofMinutes(1).plusSeconds(1).toMillis());
            long start = System.nanoTime();
            stats.sample();
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            reader.rollback();
            alter.get();
            alterer.rollback();

            assertThat(stats.latest().orElseThrow().at()).isEqualTo(clock.instant());
            assertThat(stats.latest().orElseThrow().lockWaits()).isGreaterThanOrEqualTo(1);
            assertThat(stats.latest().orElseThrow().sizesAt()).isEqualTo(sizesRead);
            assertThat(tookMillis).as("ms the sample took").isLessThan(LOCK_TIMEOUT.toMillis());
        }
    }

    private static TableSize characters(DatabaseReading reading) {
        return reading.tables().stream().filter(t -> t.schema().equals("public") && t.table().equals("characters"))
                .findFirst().orElseThrow();
    }

    private static void execute(Connection connection, String sql) {
        try {
            connection.createStatement().execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitLockWaits(Connection watcher, int waiting) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            var rows = watcher.createStatement().executeQuery("SELECT count(*) FROM pg_locks WHERE NOT granted");
            rows.next();
            if (rows.getInt(1) >= waiting) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no one waited for a lock");
    }

    /**
     * A WARN on every failed sample was 16 lines for a 12 s SIGSTOP of PostgreSQL, 720 an hour of outage: one line
     * when readings start failing, one when they work again. And a dashboard can tell a frozen reading from a quiet
     * database by parley_db_reading_age_seconds.
     */
    @Test
    void an_outage_is_logged_once_when_it_starts_and_once_when_it_ends_and_the_reading_age_grows_meanwhile() throws Exception {
        String name = "parley_database_stats_outage";
        ConnectionTarget target = TestDatabase.get().migrated(name);
        var options = new Database.PoolOptions(1, Duration.ofMillis(300), 1.0); // a refused connection fails a sample in 300 ms
        var clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));
        var registry = new SimpleMeterRegistry();
        var logger = (Logger) LoggerFactory.getLogger(DatabaseStats.class);
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        Level before = logger.getLevel();
        logger.setLevel(Level.INFO); // the tests' log says only warnings
        logger.addAppender(appender);
        try (Database database = Database.connect(target, options, QueryLog.quiet(), null, null);
             Connection admin = TestDatabase.get().connect("postgres")) {
            var stats = new DatabaseStats(database, clock, registry);
            stats.sample();
            Instant lastRead = clock.instant();
            assertThat(registry.get("parley.db.reading.age.seconds").gauge().value()).isZero();

            admin.createStatement().execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
            admin.createStatement().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'");
            for (int i = 0; i < 3; i++) {
                clock.advance(5_000);
                stats.sample();
            }
            assertThat(stats.latest().orElseThrow().at()).isEqualTo(lastRead);
            assertThat(registry.get("parley.db.reading.age.seconds").gauge().value()).as("seconds since the last reading")
                    .isEqualTo(15);

            admin.createStatement().execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
            clock.advance(5_000);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (stats.latest().orElseThrow().at().equals(lastRead) && System.nanoTime() < deadline) { // until the pool connects again
                stats.sample();
            }
            assertThat(stats.latest().orElseThrow().at()).isEqualTo(clock.instant());
            assertThat(registry.get("parley.db.reading.age.seconds").gauge().value()).isZero();
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }

        assertThat(appender.list).filteredOn(e -> e.getLevel() == Level.WARN).singleElement()
                .satisfies(e -> assertThat(e.getFormattedMessage()).startsWith("cannot read PostgreSQL's statistics ("));
        assertThat(appender.list).filteredOn(e -> e.getLevel() == Level.INFO).singleElement()
                .satisfies(e -> assertThat(e.getFormattedMessage()).startsWith("PostgreSQL's statistics can be read again, after 15000 ms"));
    }
}
