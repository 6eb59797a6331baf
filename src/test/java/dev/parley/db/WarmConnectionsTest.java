package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.TestDatabase;
import dev.parley.support.TestServer;
import dev.parley.support.Wait;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** New pooled connections plan a chat turn's statements before they serve one, over a year of monthly partitions. */
class WarmConnectionsTest {
    private static final String DB = "parley_warmup";
    private static ConnectionTarget target;

    @BeforeAll
    static void aYearOfMonths() {
        target = TestDatabase.get().migrated(DB);
        try (Database database = TestDatabase.pool(target, 1)) {
            aYearOfMonths(database);
        }
    }

    /** The months {@link #aYearOfMonths} makes at least. */
    static final int MONTHS = 13;

    /**
     * How many of the monthly partitions' indexes the backend's catalog cache holds: each index it has opened has
     * an "index info" memory context named after it. (The cache's total size is no measure: it grows in blocks,
     * and a backend that rebuilds the catalog's init file starts with twice the usual.)
     */
    static final Query PARTITION_INDEXES_CACHED = new Query("test.partition_indexes_cached", """
            SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'index info' AND ident LIKE 'messages\\_y%'""");

    /** Partitions for the year up to the month the migrations began at (by the database's clock: any date will do), and the next. */
    static void aYearOfMonths(Database database) {
        var partitions = new Partitions(database);
        YearMonth split = YearMonth.from(Ids.timeOf(partitions.list().stream()
                .filter(p -> p.name().equals(Partitions.AFTER)).findFirst().orElseThrow().fromId()).atZone(ZoneOffset.UTC));
        partitions.ensure(split.minusMonths(11), split.plusMonths(1));
    }

    /**
     * A start that migrates opens its pool only after the migrations: each new pooled connection plans an append
     * (locking messages, then conversations), and V10's CREATE TRIGGERs lock the two the other way round, so a
     * fresh start died of a deadlock (or, where PostgreSQL's timers do not fire, hung). The migrations run on
     * connections of their own, closed once they are done; every connection of the pool began after the last.
     */
    @Test
    void a_start_that_migrates_opens_its_pool_after_the_migrations() throws Exception {
        try (Parley parley = TestServer.startOn(TestDatabase.get().fresh("parley_warmup_fresh"), Map.of());
             Connection connection = TestDatabase.get().connect("parley_warmup_fresh");
             var statement = connection.createStatement()) {
            Wait.until("no connection of Parley's from before the last migration", Duration.ofSeconds(10), () -> {
                try (var row = statement.executeQuery("""
                        SELECT count(*) FROM pg_stat_activity
                         WHERE datname = current_database() AND application_name = 'parley'
                           AND backend_start < (SELECT max(installed_on) FROM flyway_schema_history)""")) {
                    return row.next() && row.getLong(1) == 0;
                }
            });
        }
    }

    @Test
    void every_statement_planned_ahead_plans_on_the_production_schema() throws SQLException {
        try (Connection connection = TestDatabase.get().connect(DB); var statement = connection.createStatement()) {
            assertThat(WarmConnections.plan(statement, Parley.PLANNED_AHEAD)).isEqualTo(Parley.PLANNED_AHEAD.size());
        }
    }

    @Test
    void a_pooled_connection_arrives_with_the_partitions_in_its_catalog_cache_and_nothing_else_left_in_its_session()
            throws SQLException {
        long cold = partitionIndexesInCatalogCache(List.of());
        long warm = partitionIndexesInCatalogCache(Parley.PLANNED_AHEAD);

        assertThat(cold).as("the monthly partitions' indexes a new connection's catalog cache holds").isZero();
        assertThat(warm).as("the monthly partitions' indexes a warmed connection's catalog cache holds").isGreaterThanOrEqualTo(MONTHS);
    }

    @Test
    void pg_stat_statements_still_names_a_statement_whose_first_plan_was_the_warm_ups() throws SQLException {
        var counted = new Query("test.counted_after_warmup", "SELECT count(*) FROM messages WHERE app_id = ? AND role = 'user'");
        List<String> recorded;
        try (Connection connection = TestDatabase.get().connect(DB); var statement = connection.createStatement()) {
            statement.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            statement.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)");
            statement.execute("SET pg_stat_statements.track_planning = on"); // as operators turn it on to see planning times
            WarmConnections.plan(statement, List.of(counted));
            try (var query = connection.prepareStatement(counted.sql())) {
                query.setLong(1, 1);
                query.executeQuery().close();
            }
            try (var rows = statement.executeQuery("""
                    SELECT query FROM pg_stat_statements
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND query LIKE '%test.counted_after_warmup%' AND query NOT LIKE 'EXPLAIN%'""")) {
                recorded = new ArrayList<>();
                while (rows.next()) {
                    recorded.add(rows.getString(1));
                }
            }
        }

        // The monitor and parley doctor name a row by the comment its text starts with (DatabaseStats).
        assertThat(recorded).as("the statement's text as pg_stat_statements keeps it").singleElement()
                .satisfies(text -> assertThat(text).startsWith("/* test.counted_after_warmup */"));
    }

    /** The catalog cache of the connection a new one-connection pool hands out, after checking its session is clean. */
    private static long partitionIndexesInCatalogCache(List<Query> warmup) throws SQLException {
        try (Database pool = Database.connect(target, new Database.PoolOptions(1, Duration.ofSeconds(10), 1.0, warmup, Database.Limits.NONE),
                QueryLog.quiet(), null, null)) {
            return pool.read(handle -> {
                assertThat(handle.first(new Query("test.plan_mode", "SELECT current_setting('plan_cache_mode')"), row -> row.getString(1)))
                        .contains("auto");
                assertThat(handle.first(new Query("test.prepared_by_name", "SELECT count(*) FROM pg_prepared_statements WHERE name = 'parley_warmup'"),
                        row -> row.getLong(1))).contains(0L);
                return handle.first(PARTITION_INDEXES_CACHED, row -> row.getLong(1)).orElseThrow();
            });
        }
    }
}
