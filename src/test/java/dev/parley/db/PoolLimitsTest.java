package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.support.TestDatabase;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A pool's limits reach each of its connections, as the request pool's must; a pool opened as the commands and the
 * background work open theirs leaves the server's own settings, so a refresh or an archive is never cut short.
 */
class PoolLimitsTest {
    private static final String DB = "parley_pool_limits";
    private static final Query STATEMENT_TIMEOUT = new Query("test.statement_timeout", "SELECT current_setting('statement_timeout')");
    private static final Query LOCK_TIMEOUT = new Query("test.lock_timeout", "SELECT current_setting('lock_timeout')");

    @Test
    void a_pool_with_limits_sets_them_on_each_connection_and_one_without_leaves_the_servers() throws Exception {
        ConnectionTarget target = TestDatabase.get().migrated(DB);
        var limits = new Database.Limits(Duration.ofSeconds(3), Duration.ofMillis(1500));
        try (Database limited = Database.connect(target, new Database.PoolOptions(2, Duration.ofSeconds(10), 1.0, List.of(), limits),
                QueryLog.quiet(), null, null);
             Database plain = Database.connect(target, 2, Duration.ofSeconds(10), QueryLog.quiet(), null)) {
            assertThat(setting(limited, STATEMENT_TIMEOUT)).isEqualTo("3s");
            assertThat(setting(limited, LOCK_TIMEOUT)).isEqualTo("1500ms");
            assertThat(networkTimeout(limited)).as("no socketTimeout: it would make every read a timed one").isZero();

            assertThat(setting(plain, STATEMENT_TIMEOUT)).isEqualTo("0");
            assertThat(setting(plain, LOCK_TIMEOUT)).isEqualTo("0");
            assertThat(networkTimeout(plain)).isZero();
        }
    }

    /**
     * A start against a PostgreSQL with no room (53300: its max_connections, or the role's or the database's CONNECTION
     * LIMIT) waited the whole minute and then blamed a slow server, or advised raising PARLEY_POOL_SIZE.
     */
    @Test
    void a_server_with_no_room_for_connections_is_named_as_the_cause_at_once() throws Exception {
        TestDatabase.get().migrated(DB + "_full");
        try (var admin = TestDatabase.get().connect("postgres"); var sql = admin.createStatement()) {
            sql.execute("DO $$ BEGIN CREATE ROLE parley_no_room LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
            sql.execute("ALTER ROLE parley_no_room CONNECTION LIMIT 0");
        }
        long start = System.nanoTime();
        try (Database full = Database.connect(TestDatabase.get().target(DB + "_full", "parley_no_room"), 2,
                Duration.ofSeconds(2), QueryLog.quiet(), null)) {
            assertThatThrownBy(() -> full.awaitConnections(1, Duration.ofSeconds(60))).isInstanceOf(PoolSaturated.class)
                    .hasMessageContaining("PostgreSQL refuses this instance's connections")
                    .hasMessageContaining("too many connections for role").hasMessageContaining("CONNECTION LIMIT")
                    .hasMessageNotContaining("slow to complete them");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not the minute's wait").isLessThan(Duration.ofSeconds(30));
    }

    private static int networkTimeout(Database pool) {
        return pool.<Integer>read(handle -> handle.connection().getNetworkTimeout());
    }

    private static String setting(Database pool, Query show) {
        return pool.read(handle -> handle.first(show, row -> row.getString(1)).orElseThrow());
    }
}
