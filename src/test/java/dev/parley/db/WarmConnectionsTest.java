package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.Parley;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
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
            var partitions = new Partitions(database);
            // The month the migration split the catch-alls at, by the database's clock: any date will do.
            YearMonth split = YearMonth.from(Ids.timeOf(partitions.list().stream()
                    .filter(p -> p.name().equals(Partitions.AFTER)).findFirst().orElseThrow().fromId()).atZone(ZoneOffset.UTC));
            partitions.ensure(split.minusMonths(11), split.plusMonths(1));
        }
    }

    @AfterAll
    static void drop() {
        TestDatabase.get().fresh(DB);
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
        long cold = catalogCacheBytes(List.of());
        long warm = catalogCacheBytes(Parley.PLANNED_AHEAD);

        assertThat(warm).as("bytes of catalog cache, warm against cold (%d)", cold).isGreaterThan(2 * cold);
    }

    /** The catalog cache of the connection a new one-connection pool hands out, after checking its session is clean. */
    private static long catalogCacheBytes(List<Query> warmup) throws SQLException {
        try (Database pool = Database.connect(target, new Database.PoolOptions(1, Duration.ofSeconds(10), 1.0, warmup),
                QueryLog.quiet(), null, null)) {
            return pool.read(h -> {
                assertThat(h.first(new Query("test.plan_mode", "SELECT current_setting('plan_cache_mode')"), row -> row.getString(1)))
                        .contains("auto");
                assertThat(h.first(new Query("test.prepared_by_name", "SELECT count(*) FROM pg_prepared_statements WHERE name = 'parley_warmup'"),
                        row -> row.getLong(1))).contains(0L);
                return h.first(new Query("test.catalog_cache", """
                        SELECT total_bytes FROM pg_backend_memory_contexts WHERE name = 'CacheMemoryContext'"""),
                        row -> row.getLong(1)).orElseThrow();
            });
        }
    }
}
