package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.support.TestDatabase;
import java.sql.Connection;
import org.junit.jupiter.api.Test;

/** A database's identity, which Redis keys carry: two databases differ, and a server that hides its identifier still gives one. */
class DatabaseIdentityTest {
    @Test
    void two_databases_of_one_server_differ_and_a_role_denied_pg_control_system_gets_the_name_oid_and_random_id() throws Exception {
        var first = TestDatabase.get().migrated("parley_identity_one");
        var second = TestDatabase.get().migrated("parley_identity_two");
        String one;
        String two;
        try (Database a = TestDatabase.pool(first, 1); Database b = TestDatabase.pool(second, 1)) {
            one = DatabaseIdentity.of(a);
            two = DatabaseIdentity.of(b);
        }
        assertThat(one).matches("-?\\d+\\.\\d+").isNotEqualTo(two);
        assertThat(one.substring(0, one.indexOf('.'))).as("one server").isEqualTo(two.substring(0, two.indexOf('.')));

        try (Connection sql = TestDatabase.get().connect("parley_identity_two"); var statement = sql.createStatement()) {
            statement.execute("DROP ROLE IF EXISTS parley_identity_probe");
            statement.execute("CREATE ROLE parley_identity_probe LOGIN PASSWORD 'probe-password'");
            statement.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
            statement.execute("GRANT SELECT ON parley_deployment TO parley_identity_probe"); // as Parley's role reads its tables
        }
        var denied = new ConnectionTarget(second.jdbcUrl(), "parley_identity_probe", "probe-password");
        try (Database c = TestDatabase.pool(denied, 1)) {
            String randomId;
            try (Connection sql = TestDatabase.get().connect("parley_identity_two");
                 var rows = sql.createStatement().executeQuery("SELECT random_id FROM parley_deployment")) {
                rows.next();
                randomId = rows.getString(1);
            }
            // Name and OID alone are the same on two servers set up the same way; the id made when each was migrated is not.
            assertThat(DatabaseIdentity.of(c)).isEqualTo("parley_identity_two" + two.substring(two.indexOf('.')) + "." + randomId);
        } finally {
            try (Connection sql = TestDatabase.get().connect("parley_identity_two"); var statement = sql.createStatement()) {
                statement.execute("DROP OWNED BY parley_identity_probe");
                statement.execute("DROP ROLE parley_identity_probe");
            }
        }
    }
}
