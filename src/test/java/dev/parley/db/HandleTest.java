package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.support.RoundTrips;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGResultSetMetaData;

/**
 * What {@link Handle#listInBinary} reads: the same values as {@link Handle#list}, sent in binary where it can be; and
 * statements sent together ({@link Handle#listAfter}, {@link Handle#listAndCommit}): one round trip, in order.
 */
class HandleTest {
    private static final String DB = "parley_handle";
    private static final Query VALUES = new Query("test.values", """
            SELECT decode(v.hex, 'hex') AS bytes, v.n FROM (VALUES (?, 1::bigint), (?, 2), (?, 3), (NULL, 4), (?, 5)) v(hex, n)
             ORDER BY v.n""");

    /** How a row came: its bytes, its number, and whether the bytes were sent in binary. */
    private record Row(byte[] bytes, long n, boolean binary) {
    }

    private static final Query SET = new Query("test.set", "SELECT set_config('parley.test', ?, true)");
    private static final Query READ_SET = new Query("test.read_set", "SELECT current_setting('parley.test') || ' ' || ?::text");
    private static final Query ADD = new Query("test.add", "INSERT INTO handle_commits (n) VALUES (?) RETURNING n");

    private static ConnectionTarget target;
    private static List<byte[]> stored;

    @BeforeAll
    static void database() throws SQLException {
        target = TestDatabase.get().migrated(DB);
        byte[] large = new byte[100_000];
        for (int i = 0; i < large.length; i++) {
            large[i] = (byte) (i * 31);
        }
        stored = Arrays.asList(new byte[0], new byte[] {0, -1, 0x5c, 0x27, 0}, large, null, new byte[] {(byte) 0x80});
        try (Connection connection = connect(target); var statement = connection.createStatement()) {
            statement.execute("CREATE TABLE IF NOT EXISTS handle_commits (n int CHECK (n > 0))");
        }
    }

    @Test
    void a_statement_sent_after_another_sees_what_the_first_set_and_the_two_take_one_round_trip() throws SQLException {
        try (RoundTrips trips = RoundTrips.to(target); Connection connection = connect(trips.target())) {
            connection.setAutoCommit(false);
            var handle = new Handle(connection, QueryLog.quiet());
            for (int run = 1; run <= 6; run++) { // pgjdbc names a statement at its fifth run: before and after
                trips.reset();
                List<String> read = handle.listAfter(SET, new Object[] {"set by run " + run}, READ_SET, row -> row.getString(1),
                        "read by run " + run);

                assertThat(read).containsExactly("set by run " + run + " read by run " + run);
                assertThat(trips.count()).as("round trips of run %d", run).isEqualTo(1);
            }
            trips.reset();
            handle.first(SET, row -> row.getString(1), "apart");
            handle.list(READ_SET, row -> row.getString(1), "apart");
            assertThat(trips.count()).as("the same statements sent one by one").isEqualTo(2);
            connection.rollback();
        }
    }

    @Test
    void a_statement_sent_with_its_commit_is_committed_when_it_returns_after_one_round_trip() throws SQLException {
        try (RoundTrips trips = RoundTrips.to(target); Connection connection = connect(trips.target());
             Connection other = connect(target)) {
            connection.setAutoCommit(false);
            var handle = new Handle(connection, QueryLog.quiet());
            for (int run = 1; run <= 6; run++) {
                int n = (int) (System.nanoTime() & 0xfffffff) + 1;
                trips.reset();

                assertThat(handle.listAndCommit(ADD, row -> row.getInt(1), n)).containsExactly(n);
                assertThat(trips.count()).as("round trips of run %d", run).isEqualTo(1);
                assertThat(committed(other, n)).as("seen by another connection before commit() is called").isTrue();
                connection.commit();
                assertThat(trips.count()).as("commit() had nothing left to send").isEqualTo(1);
            }
        }
    }

    @Test
    void a_failing_statement_sent_with_its_commit_commits_nothing_of_its_transaction() throws SQLException {
        try (Connection connection = connect(target); Connection other = connect(target)) {
            connection.setAutoCommit(false);
            var handle = new Handle(connection, QueryLog.quiet());
            int earlier = (int) (System.nanoTime() & 0xfffffff) + 1;
            handle.list(ADD, row -> row.getInt(1), earlier);

            assertThatThrownBy(() -> handle.listAndCommit(ADD, row -> row.getInt(1), -1)).isInstanceOf(SQLException.class)
                    .hasMessageContaining("handle_commits_n_check");
            connection.rollback();
            assertThat(committed(other, earlier)).isFalse();
        }
    }

    private static boolean committed(Connection other, int n) throws SQLException {
        try (var statement = other.prepareStatement("SELECT count(*) FROM handle_commits WHERE n = ?")) {
            statement.setInt(1, n);
            try (ResultSet rows = statement.executeQuery()) {
                rows.next();
                return rows.getLong(1) == 1;
            }
        }
    }

    private static Connection connect(ConnectionTarget to) throws SQLException {
        return DriverManager.getConnection(to.jdbcUrl(), to.user(), to.password());
    }

    @Test
    void a_statement_read_in_binary_gets_every_value_a_text_read_gets_and_gets_it_in_binary_long_before_its_fifth_run() throws SQLException {
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl(), target.user(), target.password())) {
            var handle = new Handle(connection, QueryLog.quiet());

            List<Row> text = handle.list(VALUES, HandleTest::row, arguments());
            List<Row> binary = handle.listInBinary(VALUES, HandleTest::row, arguments());

            assertValues(binary);
            assertValues(text);
            assertThat(text).noneMatch(Row::binary); // pgjdbc's first runs of a statement read text
            assertThat(binary).allMatch(Row::binary);
        }
    }

    @Test
    void behind_pgbouncer_in_transaction_mode_the_rows_come_as_text() throws SQLException {
        // PgBouncer.jdbcUrl sets prepareThreshold=0 there: no statement may be named, so none can be read in binary.
        try (Connection connection = DriverManager.getConnection(target.jdbcUrl() + "?prepareThreshold=0", target.user(),
                target.password())) {
            var handle = new Handle(connection, QueryLog.quiet());

            List<Row> rows = handle.listInBinary(VALUES, HandleTest::row, arguments());

            assertValues(rows);
            assertThat(rows).noneMatch(Row::binary);
        }
    }

    private static Object[] arguments() {
        List<Object> hex = new ArrayList<>();
        for (byte[] bytes : stored) {
            if (bytes != null) {
                hex.add(HexFormat.of().formatHex(bytes));
            }
        }
        return hex.toArray();
    }

    private static void assertValues(List<Row> rows) {
        assertThat(rows).extracting(Row::n).containsExactly(1L, 2L, 3L, 4L, 5L);
        for (int i = 0; i < rows.size(); i++) {
            assertThat(rows.get(i).bytes()).as("row %d", i + 1).isEqualTo(stored.get(i));
        }
    }

    private static Row row(ResultSet row) throws SQLException {
        boolean binary = row.getMetaData().unwrap(PGResultSetMetaData.class).getFormat(1) == 1;
        return new Row(row.getBytes(1), row.getLong(2), binary);
    }
}
