package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.db.Partitions;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the search queries over 150,000 messages in six monthly partitions, written from a
 * vocabulary where a few words are everywhere and most are rare, ANALYZEd. 1,700 users have one
 * conversation each; one heavy user has 300, 15 % of all messages.
 */
class SearchPlanTest {
    private static final String DB = "parley_search_plans";
    private static final long APP = 1;
    private static final long USER = 7;
    private static final long HEAVY_USER = 2000;

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
                    SELECT 1, id, CASE WHEN g > 1700 THEN 2000 ELSE g END, 1, id, parley_id_time(id), parley_id_time(id), now()
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
        String plan = plans.explain(MessageSearch.MATCHES_USER, "english", "w3000", "english", "w3000", "'~u:7'", "english", "w3000",
                0L, Long.MAX_VALUE, MessageSearch.CANDIDATES);

        assertThat(plan).contains("Bitmap Index Scan on messages_y").contains("message_words_idx").contains("''~u:7''");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_heavy_users_common_word_reads_only_the_last_weeks_partitions_through_the_index() throws SQLException {
        long weekAgo = Ids.floorOf(Instant.now().minus(Duration.ofDays(7)));
        String plan = plans.explain(MessageSearch.MATCHES_USER, "english", "w1", "english", "w1", "'~u:2000'", "english", "w1",
                weekAgo, Long.MAX_VALUE, MessageSearch.CANDIDATES);

        long months = Pattern.compile("on messages_y\\d{4}m\\d{2} ").matcher(plan).results().count();
        assertThat(months).as(plan).isLessThanOrEqualTo(2);
        assertThat(plan).contains("message_words_idx").contains("''~u:2000''");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_conversation_search_reads_by_index() throws SQLException {
        String plan = plans.explain(MessageSearch.MATCHES_CONVERSATION, "english", "w2500", "english", "w2500",
                MessageSearch.token("c", conversation), "english", "w2500", conversation, Long.MAX_VALUE, MessageSearch.CANDIDATES);

        assertThat(plan).containsAnyOf("message_words_idx", "_pkey");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void an_app_wide_search_for_a_rare_word_reads_the_words_column_of_the_index() throws SQLException {
        String plan = plans.explain(MessageSearch.MATCHES_APP, "english", "w4990", "english", "w4990", "'~a:1'", "english", "w4990",
                0L, Long.MAX_VALUE, MessageSearch.CANDIDATES);

        assertThat(plan).contains("message_words_idx");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void search_is_planned_for_its_words_every_time_even_where_the_session_asks_for_generic_plans() {
        List<Object[]> statements;
        try (Database database = TestDatabase.pool(TestDatabase.get().target(DB), 1)) {
            database.read(h -> h.execute(new Query("test.generic", "SET plan_cache_mode = force_generic_plan")));
            var search = new MessageSearch(database, Clock.systemUTC());
            for (int i = 0; i < 8; i++) { // pgjdbc prepares a statement on the server from its fifth use
                search.search(APP, new MessageSearch.Scope.User(USER), "w" + (i + 3000), null, MessageSearch.Order.RECENT,
                        MessageSearch.After.START, 20);
            }
            statements = database.read(h -> h.list(new Query("test.prepared", """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%parley_message_words%'"""),
                    row -> new Object[] {row.getLong(1), row.getLong(2)}));
        }

        assertThat(statements).isNotEmpty().allSatisfy(counts -> {
            assertThat((long) counts[0]).as("generic plans").isZero();
            assertThat((long) counts[1]).as("custom plans").isPositive();
        });
    }

    @Test
    void snippets_are_made_by_primary_key_for_the_returned_rows_only() throws SQLException {
        var conversations = connection.createArrayOf("bigint", new Long[] {conversation});
        long message;
        try (var s = connection.createStatement(); var rows = s.executeQuery(
                "SELECT max(message_id) FROM messages WHERE conversation_id = " + conversation)) {
            rows.next();
            message = rows.getLong(1);
        }
        String plan = plans.explain(MessageSearch.SNIPPETS, "english", "w1", conversations,
                connection.createArrayOf("bigint", new Long[] {message}), APP);

        assertThat(plan).contains("_pkey");
        assertNoSeqScanOnRows(plan);
    }
}
