package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.Test;

/** A connection beside the pool (the watch's, the invalidation listener's) logs in as the target says, under its own name. */
class ConnectionTargetTest {
    @Test
    void a_connection_beside_the_pool_logs_in_with_the_targets_credentials_and_shows_its_own_name() throws Exception {
        ConnectionTarget target = TestDatabase.get().target("postgres");
        var properties = target.connectionProperties("parley-beside", 2);

        assertThat(properties.getProperty("connectTimeout")).isEqualTo("2");
        assertThat(properties.getProperty("loginTimeout")).isEqualTo("2");
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl(), properties);
             var rows = connection.createStatement().executeQuery(
                     "SELECT application_name, usename FROM pg_stat_activity WHERE pid = pg_backend_pid()")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo("parley-beside");
            if (target.user() != null) {
                assertThat(rows.getString(2)).isEqualTo(target.user());
            }
        }
    }

    @Test
    void credentials_the_target_does_not_have_are_left_to_the_url() {
        var properties = new ConnectionTarget("jdbc:postgresql://127.0.0.1:5432/parley?user=app", null, null)
                .connectionProperties("parley-beside", 2);

        assertThat(properties.stringPropertyNames()).doesNotContain("user", "password");
    }
}
