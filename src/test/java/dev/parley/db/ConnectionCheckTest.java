package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class ConnectionCheckTest {
    private static final String WHERE = "db.internal:5432/parley";

    @Test
    void each_way_a_connection_fails_is_told_in_its_own_words() {
        assertThat(explain(new SQLException("password authentication failed", "28P01"))).contains("refused the password of user 'parley'");
        assertThat(explain(new SQLException("database \"parley\" does not exist", "3D000"))).contains("no such database");
        assertThat(explain(new SQLException("no pg_hba.conf entry", "28000"))).contains("pg_hba.conf");
        assertThat(explain(new SQLException("Connection refused", "08001", new ConnectException("Connection refused"))))
                .contains("connection refused").contains(WHERE);
        assertThat(explain(new SQLException("timed out", "08001", new SocketTimeoutException("connect timed out"))))
                .contains("no answer from " + WHERE + " within 5 s");
    }

    private static String explain(SQLException e) {
        return ConnectionCheck.explain(e, WHERE, "parley", "DATABASE_URL");
    }
}
