package dev.parley.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Partitions;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A run again finds a chunk's lines by their keys among their conversations' rows of their millisecond (V40): through an
 * index bounded by the chunk's ids, as the lookup by id alone was, never a scan of the month.
 */
class ImportPlanTest {
    private static final String DB = "parley_import_plans";
    private static final YearMonth MONTH = YearMonth.of(2025, 3);

    private static Connection connection;
    private static Plans plans;
    private static final List<Long> conversations = new ArrayList<>();
    private static final List<Long> ids = new ArrayList<>();
    private static final List<Long> keys = new ArrayList<>();

    @BeforeAll
    static void loadMonth() throws SQLException {
        try (var pool = TestDatabase.pool(TestDatabase.get().migrated(DB), 1)) {
            new Partitions(pool).ensure(MONTH, MONTH);
        }
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        long floor = Partitions.floorOf(MONTH);
        try (var s = connection.createStatement()) {
            // 200 conversations of 100 imported messages, a second (1,000 ms, 2^22 ids each) apart
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content, import_key)
                    SELECT 1, c, 1, %d + (c * 100 + n)::bigint * 1000 * 4194304, n, parley_id_time(%d + (c * 100 + n)::bigint * 1000 * 4194304),
                           'user', 'line ' || n, c * 1000 + n
                      FROM generate_series(1, 200) c, generate_series(1, 100) n""".formatted(floor, floor));
            s.execute("VACUUM ANALYZE messages");
        }
        for (long n = 1; n <= 100; n++) { // one conversation's lines, as a chunk of a run again holds them
            conversations.add(7L);
            ids.add(floor + (7 * 100 + n) * 1000 * 4194304L);
            keys.add(7 * 1000 + n);
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void a_chunks_lines_are_found_through_an_index_in_their_months_only() throws SQLException {
        Object[] args = {array(conversations), array(ids), array(keys), 1L, ids.getFirst(), ids.getLast() + 4194303};

        for (String plan : List.of(plans.explain(Import.PRESENT, args), plans.explainGeneric(Import.PRESENT, args))) {
            assertThat(plan).contains(Partitions.nameOf(MONTH)).contains("Index").doesNotContain("Seq Scan on messages")
                    .contains("rows=100");
        }
    }

    private static java.sql.Array array(List<Long> values) throws SQLException {
        return connection.createArrayOf("bigint", values.toArray());
    }
}
