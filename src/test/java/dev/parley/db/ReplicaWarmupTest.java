package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.parley.Parley;
import dev.parley.support.TestClock;
import dev.parley.support.TestDatabase;
import dev.parley.support.Wait;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Connections to a read replica arrive warm, as the primary's do (WarmConnectionsTest): on a real streaming
 * standby of a primary with a year of monthly partitions, every read planned ahead plans (a standby plans no
 * writes), and a replica pool's connection holds its catalog cache before its first read. The same standby shows
 * which of a replica's failed reads the primary answers instead.
 */
class ReplicaWarmupTest {
    private static final Duration SAMPLED = Duration.ofMillis(50);
    /** Sampled by the start, then only when the test calls {@code sample()}. */
    private static final Duration BY_HAND = Duration.ofHours(1);
    private static final Query IN_RECOVERY = new Query("test.in_recovery", "SELECT pg_is_in_recovery()");

    private static LocalPostgres primary;
    private static Standby standby;
    private static String schemaVersion;

    @BeforeAll
    static void aPrimaryWithAYearOfMonthsAndItsStandby() throws Exception {
        Path dir = Files.createTempDirectory("parley-replica-warmup");
        primary = LocalPostgres.startTemporary(dir.resolve("primary"), Map.of());
        try (Database database = Database.connect(primary.target(), 2, Duration.ofSeconds(10), QueryLog.quiet(), null)) {
            var migrations = new Migrations(database.dataSource());
            migrations.migrate();
            schemaVersion = migrations.latestVersion();
            WarmConnectionsTest.aYearOfMonths(database);
        }
        standby = Standby.of(primary.target(), dir.resolve("standby"));
    }

    @AfterAll
    static void stop() {
        if (standby != null) {
            standby.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    /** A failover leaves standbys on the earlier timeline a while: they are the primary's, where a later timeline is not. */
    @Test
    void a_standby_on_the_primarys_timeline_or_an_earlier_one_is_the_primarys_and_one_on_a_later_one_is_not() {
        var primary = new Replicas.Identity("7301", 2);
        assertThat(Replicas.notOurs(primary, new Replicas.Identity("7301", 1))).as("catching up after a failover").isNull();
        assertThat(Replicas.notOurs(primary, new Replicas.Identity("7301", 2))).isNull();
        assertThat(Replicas.notOurs(primary, new Replicas.Identity("7301", 3))).contains("timeline 3, past the primary's 2");
        assertThat(Replicas.notOurs(primary, new Replicas.Identity("4242", 2))).contains("system identifier is 4242");
        assertThat(Replicas.notOurs(null, new Replicas.Identity("4242", 2))).as("not told").isNull();
    }

    @Test
    void every_read_planned_ahead_plans_on_a_standby() throws Exception {
        ConnectionTarget replica = standby.target(LocalPostgres.DATABASE);
        Wait.until("the standby to replay the partitions", Duration.ofSeconds(30), () -> {
            try (Connection connection = connect(replica);
                 var rows = connection.createStatement().executeQuery("SELECT count(*) FROM pg_inherits WHERE inhparent = 'messages'::regclass")) {
                return rows.next() && rows.getInt(1) >= WarmConnectionsTest.MONTHS;
            }
        });
        try (Connection connection = connect(replica);
             var statement = connection.createStatement()) {
            assertThat(WarmConnections.plan(statement, Parley.READS_PLANNED_AHEAD)).isEqualTo(Parley.READS_PLANNED_AHEAD.size());
        }
    }

    @Test
    void a_replica_pools_connection_arrives_with_the_partitions_in_its_catalog_cache() {
        long cold = partitionIndexesCachedAtAReplicaRead(List.of());
        long warm = partitionIndexesCachedAtAReplicaRead(Parley.READS_PLANNED_AHEAD);

        assertThat(cold).as("the partitions' indexes a new standby connection's catalog cache holds").isZero();
        assertThat(warm).as("the partitions' indexes a warmed one's holds").isGreaterThanOrEqualTo(WarmConnectionsTest.MONTHS);
    }

    /**
     * A read the standby fails for a reason of its own (here an unlogged table, which a standby cannot read; as well a
     * schema of another database) is answered by the primary; one that fails for the request's reason fails.
     */
    @Test
    void a_read_a_replica_fails_for_its_own_reason_is_the_primarys_and_one_that_fails_for_the_requests_fails() throws Exception {
        try (Connection connection = connect(primary.target())) {
            connection.createStatement().execute("CREATE UNLOGGED TABLE IF NOT EXISTS not_on_a_standby AS SELECT 1 AS n");
        }
        Wait.until("the standby to replay the table", Duration.ofSeconds(30), () -> {
            try (Connection connection = connect(standby.target(LocalPostgres.DATABASE));
                 var rows = connection.createStatement().executeQuery("SELECT to_regclass('not_on_a_standby') IS NOT NULL")) {
                return rows.next() && rows.getBoolean(1);
            }
        });
        var unlogged = new Query("test.unlogged", "SELECT count(*) FROM not_on_a_standby");
        var divided = new Query("test.divided", "SELECT 1 / 0");
        withReplicas(primary.target(), List.of(), options(SAMPLED), Clock.systemUTC(), replicas -> {
            Wait.until("the standby in rotation", Duration.ofSeconds(30), () -> replicas.states().getFirst().inRotation());

            assertThatThrownBy(() -> replicas.read(handle -> handle.first(divided, row -> row.getInt(1)), false))
                    .isInstanceOfSatisfying(DatabaseFailure.class, e -> assertThat(e.sqlState()).isEqualTo("22012"));
            var logged = new ListAppender<ILoggingEvent>();
            var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
            logged.start();
            logger.addAppender(logged);
            try {
                for (int i = 0; i < 3; i++) {
                    assertThat(replicas.read(handle -> handle.first(unlogged, row -> row.getLong(1)), false))
                            .as("the primary's to serve").isNull();
                }
            } finally {
                logger.detachAppender(logged);
            }
            assertThat(replicas.states().getFirst().inRotation()).as("one statement's failure takes it from no other read").isTrue();
            assertThat(logged.list).map(ILoggingEvent::getFormattedMessage).filteredOn(line -> line.contains("failed a read"))
                    .singleElement().asString().contains("cannot access temporary or unlogged relations");
            return null;
        });
    }

    /**
     * The standby, named as a replica of another server (here the tests' shared PostgreSQL, whose WAL positions it may
     * be past, so that its lag would read 0), is not in rotation, and the log says once why.
     */
    @Test
    void a_standby_of_another_server_is_not_in_rotation() {
        var logged = new ListAppender<ILoggingEvent>();
        var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
        logged.start();
        logger.addAppender(logged);
        try {
            withReplicas(TestDatabase.get().migrated("parley_replica_of_another"), List.of(), options(BY_HAND), Clock.systemUTC(), replicas -> {
                replicas.sample(); // the start sampled it once already
                replicas.sample();

                assertThat(replicas.states()).singleElement().satisfies(state -> {
                    assertThat(state.inRotation()).isFalse();
                    assertThat(state.problem()).startsWith("a standby of another server: its system identifier is");
                });
                assertThat(replicas.read(handle -> 1, false)).as("read from the primary").isNull();
                assertThat(logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage))
                        .singleElement().asString().contains("is a standby of another server").contains("will not read from it");
                return null;
            });
        } finally {
            logger.detachAppender(logged);
        }
    }

    /**
     * With PARLEY_REPLICA_MAX_LAG of minutes (3 here), a standby whose replay stopped leaves the rotation once it is that
     * far behind: its lag is not capped by how long the primary's positions are kept.
     */
    @Test
    void a_standby_further_behind_than_a_max_lag_of_minutes_leaves_the_rotation() throws Exception {
        var clock = new TestClock();
        var options = new Replicas.Options(Duration.ofMinutes(3), Duration.ofMillis(100), BY_HAND, schemaVersion);
        withReplicas(primary.target(), List.of(), options, clock, replicas -> {
            standby.pauseReplay();
            try (Connection connection = connect(primary.target()); var statement = connection.createStatement()) {
                statement.execute("CREATE TABLE IF NOT EXISTS lag_ticks (at timestamptz)");
                for (int minute = 1; minute <= 5; minute++) {
                    statement.execute("INSERT INTO lag_ticks VALUES (now())"); // WAL the standby does not replay
                    replicas.sample();
                    clock.advance(Duration.ofMinutes(1));
                }
                replicas.sample();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            } finally {
                standby.resumeReplay();
            }

            assertThat(replicas.states()).singleElement().satisfies(state -> {
                assertThat(state.lagSeconds()).as("lag").isGreaterThanOrEqualTo(Duration.ofMinutes(4).toSeconds());
                assertThat(state.inRotation()).isFalse();
            });
            return null;
        });
    }

    /**
     * A standby's first entry into rotation, at the start, is told at INFO as "in rotation", no "back": a WARN is for
     * leaving it, and its return is INFO again.
     */
    @Test
    void a_standbys_first_entry_into_rotation_is_info_its_leaving_a_warn_and_its_return_info() throws Exception {
        var logged = new ListAppender<ILoggingEvent>();
        var logger = (Logger) LoggerFactory.getLogger(Replicas.class);
        Level level = logger.getLevel();
        logger.setLevel(Level.INFO); // the tests' logging keeps WARN and above
        logged.start();
        logger.addAppender(logged);
        var clock = new TestClock();
        var options = new Replicas.Options(Duration.ofMinutes(1), Duration.ofMillis(100), BY_HAND, schemaVersion);
        try {
            withReplicas(primary.target(), List.of(), options, clock, replicas -> {
                assertThat(replicas.states()).singleElement().extracting(Replicas.State::inRotation).isEqualTo(true);
                standby.pauseReplay();
                try (Connection connection = connect(primary.target()); var statement = connection.createStatement()) {
                    statement.execute("CREATE TABLE IF NOT EXISTS rotation_ticks (at timestamptz)");
                    statement.execute("INSERT INTO rotation_ticks VALUES (now())"); // WAL the standby does not replay
                    replicas.sample();
                    clock.advance(Duration.ofMinutes(2));
                    replicas.sample();
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                } finally {
                    standby.resumeReplay();
                }
                assertThat(replicas.states()).singleElement().extracting(Replicas.State::inRotation).isEqualTo(false);
                Wait.until("the standby back in rotation", Duration.ofSeconds(30), () -> {
                    replicas.sample();
                    return replicas.states().getFirst().inRotation();
                });
                return null;
            });
        } finally {
            logger.detachAppender(logged);
            logger.setLevel(level);
        }
        String name = Replicas.nameOf(standby.target(LocalPostgres.DATABASE));
        assertThat(logged.list).map(e -> e.getLevel() + " " + e.getFormattedMessage()).filteredOn(line -> line.contains("rotation"))
                .satisfiesExactly(
                        first -> assertThat(first).startsWith("INFO read replica " + name + " is in rotation"),
                        out -> assertThat(out).startsWith("WARN read replica " + name + " is out of rotation"),
                        back -> assertThat(back).startsWith("INFO read replica " + name + " is back in rotation"));
    }

    /** The partitions' indexes in the catalog cache of the standby connection that serves a new replica pool's first read. */
    private static long partitionIndexesCachedAtAReplicaRead(List<Query> warmup) {
        return withReplicas(primary.target(), warmup, options(SAMPLED), Clock.systemUTC(), replicas -> Wait.forValue("a read the standby serves", Duration.ofSeconds(30), () -> {
            Replicas.Served<Long> served = replicas.read(handle -> {
                assertThat(handle.first(IN_RECOVERY, row -> row.getBoolean(1))).contains(true);
                return handle.first(WarmConnectionsTest.PARTITION_INDEXES_CACHED, row -> row.getLong(1)).orElseThrow();
            }, false);
            return Optional.ofNullable(served).map(Replicas.Served::value);
        }));
    }

    /**
     * {@code work}'s answer, given the standby as the one replica of {@code primaryTarget}, as {@code options} say, its
     * new connections planning {@code warmup}.
     */
    private static <T> T withReplicas(ConnectionTarget primaryTarget, List<Query> warmup, Replicas.Options options, Clock clock,
                                      java.util.function.Function<Replicas, T> work) {
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        try (Database primaryPool = Database.connect(primaryTarget, 1, Duration.ofSeconds(10), QueryLog.quiet(), null);
             Replicas replicas = Replicas.start(primaryPool, List.of(standby.target(LocalPostgres.DATABASE)), 1, warmup,
                     options, QueryLog.quiet(), new SimpleMeterRegistry(), sampler, clock, (target, name) -> null)) { // no watch: nothing fails here
            try {
                return work.apply(replicas);
            } finally {
                sampler.shutdownNow(); // before the pools close, which it samples
            }
        }
    }

    /** A minute's lag bound, and samples as often as {@code sampleEvery}. */
    private static Replicas.Options options(Duration sampleEvery) {
        return new Replicas.Options(Duration.ofMinutes(1), Duration.ofMillis(100), sampleEvery, schemaVersion);
    }

    private static Connection connect(ConnectionTarget target) throws java.sql.SQLException {
        return DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password());
    }
}
