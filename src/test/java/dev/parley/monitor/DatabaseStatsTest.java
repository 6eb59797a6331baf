package dev.parley.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.ConnectionTarget;
import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.support.TestDatabase;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

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

            var twin = stats.latest().statements().stream().filter(s -> s.query().equals("test.twin")).toList();
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
}
