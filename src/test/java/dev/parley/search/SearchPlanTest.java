package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the search queries over 150,000 messages of 2,000 users in six monthly partitions,
 * written from a vocabulary where a few words are everywhere and most are rare, ANALYZEd.
 */
class SearchPlanTest {
    private static final String DB = "parley_search_plans";
    private static final long APP = 1;
    private static final long USER = 7;

    private static Connection connection;
    private static Plans plans;
    private static long conversation;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        try (Database database = TestDatabase.pool(TestDatabase.get().target(DB), 2)) {
            YearMonth now = YearMonth.now(ZoneOffset.UTC);
            new Partitions(database).ensure(now.minusMonths(6), now.plusMonths(1));
        }
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('search-plans')");
            s.execute("INSERT INTO characters (app_id, name) VALUES (1, 'Sol')");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 2000) g");
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, g, 1, id, parley_id_time(id), parley_id_time(id), now()
                      FROM generate_series(1, 2000) g,
                           LATERAL (SELECT (((extract(epoch FROM now() - interval '6 months') * 1000)::bigint
                                             - 946684800000) << 22) | g AS id) i""");
            // Word k of the vocabulary is picked with probability falling as k grows (skewed like real text).
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, created_at, role, content)
                    SELECT 1, c.conversation_id, c.user_id, m.id, k, parley_id_time(m.id), 'user',
                           (SELECT string_agg('w' || floor(power(random(), 4) * 5000)::int, ' ')
                              FROM generate_series(1, 12 + k % 7) j) -- refers to k: a new sentence per row
                      FROM conversations c, generate_series(1, 75) k,
                           LATERAL (SELECT (((extract(epoch FROM c.created_at + (now() - c.created_at) * k / 76.0)
                                              * 1000)::bigint - 946684800000) << 22) | ((c.conversation_id & 4095) * 128 + k) AS id) m""");
            s.execute("ANALYZE");
            try (var rows = s.executeQuery("SELECT conversation_id FROM conversations WHERE user_id = " + USER)) {
                rows.next();
                conversation = rows.getLong(1);
            }
        }
    }

    /** Empty partitions (months ahead, the catch-alls) may be "scanned" sequentially; partitions with rows may not. */
    private static void assertNoSeqScanOnRows(String plan) throws SQLException {
        Matcher seq = Pattern.compile("Seq Scan on (messages_\\w+)").matcher(plan);
        while (seq.find()) {
            try (var s = connection.createStatement();
                 var rows = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + seq.group(1) + ")")) {
                rows.next();
                assertThat(rows.getBoolean(1)).as(seq.group(1) + " holds rows and is read in full: " + plan).isFalse();
            }
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
    }

    @Test
    void a_users_search_reads_the_words_index_with_the_user_in_it() throws SQLException {
        String plan = plans.explain(MessageSearch.USER_BY_RANK, "english", "w3000", "english", "w3000", "english", "w3000",
                APP, USER, Float.POSITIVE_INFINITY, Long.MAX_VALUE, 20);

        assertThat(plan).contains("Bitmap Index Scan on messages_y").contains("user_id_to_tsvector_idx");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_users_search_for_a_common_word_still_reads_only_that_users_entries() throws SQLException {
        String plan = plans.explain(MessageSearch.USER_BY_TIME, "english", "w1", "english", "w1", "english", "w1",
                APP, USER, Long.MAX_VALUE, 20);

        assertThat(plan).contains("user_id_to_tsvector_idx");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_conversation_search_reads_by_index() throws SQLException {
        String plan = plans.explain(MessageSearch.CONVERSATION_BY_RANK, "english", "w2500", "english", "w2500", "english",
                "w2500", APP, USER, conversation, Float.POSITIVE_INFINITY, Long.MAX_VALUE, 20);

        assertThat(plan).containsAnyOf("user_id_to_tsvector_idx", "_pkey");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void an_app_wide_search_for_a_rare_word_reads_the_words_column_of_the_index() throws SQLException {
        String plan = plans.explain(MessageSearch.APP_BY_RANK, "english", "w4990", "english", "w4990", "english", "w4990",
                APP, Float.POSITIVE_INFINITY, Long.MAX_VALUE, 20);

        assertThat(plan).contains("user_id_to_tsvector_idx");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_user_search_keeps_its_index_with_a_generic_plan() throws SQLException {
        String plan = plans.explainGeneric(MessageSearch.USER_BY_RANK, "'english'", "'w3000'", "'english'", "'w3000'",
                "'english'", "'w3000'", APP, USER, "'Infinity'", Long.MAX_VALUE, 20);

        assertThat(plan).contains("user_id_to_tsvector_idx");
        assertNoSeqScanOnRows(plan);
    }
}
