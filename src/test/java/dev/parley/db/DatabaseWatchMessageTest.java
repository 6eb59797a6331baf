package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class DatabaseWatchMessageTest {
    @Test
    void the_reason_is_the_root_causes_message() {
        var refused = new SQLException("Connection to 127.0.0.1:6432 refused.", "08001",
                new java.net.ConnectException("Connection refused"));

        assertThat(DatabaseWatch.rootMessage(refused)).isEqualTo("Connection refused");
    }

    @Test
    void a_root_cause_without_a_message_is_named_by_its_class_after_the_nearest_message_above_it() {
        // What PgBouncer's closing the connection gives: an EOFException, no message, under the driver's I/O error.
        var closed = new SQLException("An I/O error occurred while sending to the backend.", "08006", new EOFException());
        var wrapped = new RuntimeException(new SQLException((String) null, new EOFException()));

        assertThat(DatabaseWatch.rootMessage(closed)).isEqualTo("An I/O error occurred while sending to the backend. (EOFException)");
        assertThat(DatabaseWatch.rootMessage(wrapped)).doesNotContain("null").endsWith("(EOFException)");
        assertThat(DatabaseWatch.rootMessage(new EOFException())).isEqualTo("EOFException");
        assertThat(DatabaseWatch.rootMessage(new SQLException("  "))).isEqualTo("SQLException");
    }
}
