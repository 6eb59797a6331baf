package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

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

/** What {@link Handle#listInBinary} reads: the same values as {@link Handle#list}, sent in binary where it can be. */
class HandleTest {
    private static final String DB = "parley_handle";
    private static final Query VALUES = new Query("test.values", """
            SELECT decode(v.hex, 'hex') AS bytes, v.n FROM (VALUES (?, 1::bigint), (?, 2), (?, 3), (NULL, 4), (?, 5)) v(hex, n)
             ORDER BY v.n""");

    /** How a row came: its bytes, its number, and whether the bytes were sent in binary. */
    private record Row(byte[] bytes, long n, boolean binary) {
    }

    private static ConnectionTarget target;
    private static List<byte[]> stored;

    @BeforeAll
    static void database() {
        target = TestDatabase.get().migrated(DB);
        byte[] large = new byte[100_000];
        for (int i = 0; i < large.length; i++) {
            large[i] = (byte) (i * 31);
        }
        stored = Arrays.asList(new byte[0], new byte[] {0, -1, 0x5c, 0x27, 0}, large, null, new byte[] {(byte) 0x80});
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
