package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.ops.Maintenance;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the search queries over 150,000 messages in six monthly partitions, written from a
 * vocabulary where a few words are everywhere and most are rare, ANALYZEd. 1,700 users have one
 * conversation each; one heavy user has 300, 15 % of all messages. The dataset is written relative
 * to the database's now(), and each search is explained in the windows MessageSearch computes for
 * it (from the scope's own span, or from now for the app), so the plans are those of the day the
 * suite runs on.
 */
class SearchPlanTest {
    private static final String DB = "parley_search_plans";
    private static final long APP = 1;
    private static final long USER = 7;
    private static final long HEAVY_USER = 2000;

    private static Database database;
    private static Connection connection;
    private static Plans plans;
    private static long conversation;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 2);
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        new Partitions(database).ensure(now.minusMonths(6), now.plusMonths(Maintenance.MONTHS_AHEAD));
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
            // As appends leave them: each conversation points at its last message, which bounds its user's search.
            s.execute("""
                    UPDATE conversations c
                       SET last_seq = m.n, message_count = m.n, last_message_id = m.last, activity_id = m.last,
                           last_activity_at = parley_id_time(m.last)
                      FROM (SELECT conversation_id, count(*) AS n, max(message_id) AS last FROM messages GROUP BY 1) m
                     WHERE c.conversation_id = m.conversation_id""");
            s.execute("ANALYZE");
            try (var rows = s.executeQuery("SELECT conversation_id FROM conversations WHERE user_id = " + USER)) {
                rows.next();
                conversation = rows.getLong(1);
            }
        }
    }

    /**
     * Partitions of a few rows (months ahead, the catch-alls, the first hours of a month on the day the
     * suite runs) may be read sequentially, which is then the cheapest plan; larger ones may not.
     */
    private static void assertNoSeqScanOnRows(String plan) throws SQLException {
        Matcher seq = Pattern.compile("Seq Scan on (messages_\\w+)").matcher(plan);
        while (seq.find()) {
            try (var s = connection.createStatement();
                 var rows = s.executeQuery("SELECT count(*) FROM (SELECT 1 FROM " + seq.group(1) + " LIMIT 100) few")) {
                rows.next();
                assertThat(rows.getLong(1)).as(seq.group(1) + " holds rows and is read in full: " + plan).isLessThan(100);
            }
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
        database.close();
    }

    /** The search as MessageSearch runs it: its statement and arguments, one window after the other. */
    private static List<String> explainWindows(MessageSearch.Scope scope, String words) throws SQLException {
        MessageSearch.Plan search = database.read(h -> MessageSearch.plan(h, APP, scope, words, null));
        List<String> explained = new ArrayList<>();
        for (MessageSearch.Window window : MessageSearch.windows(search.floorId(), search.ceilingId(), Instant.now())) {
            explained.add(plans.explain(search.query(), search.arguments(window, MessageSearch.CANDIDATES)));
        }
        return explained;
    }

    /** The message partitions a plan holds, read or not. */
    private static List<String> planned(String plan) {
        return Pattern.compile(" on (messages_(?:y\\d{4}m\\d{2}|before|after)) ").matcher(plan).results().map(m -> m.group(1)).toList();
    }

    private static YearMonth month(Instant instant) {
        return YearMonth.from(instant.atZone(ZoneOffset.UTC));
    }

    /** Which of the partitions hold rows. */
    private static List<String> holdingRows(List<String> partitions) throws SQLException {
        List<String> holding = new ArrayList<>();
        for (String partition : partitions) {
            try (var s = connection.createStatement();
                 var rows = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + partition + ")")) {
                rows.next();
                if (rows.getBoolean(1)) {
                    holding.add(partition);
                }
            }
        }
        return holding;
    }

    @Test
    void a_users_search_for_a_rare_word_reads_the_words_index_with_the_user_in_it_in_every_window() throws SQLException {
        List<String> windows = explainWindows(new MessageSearch.Scope.User(USER), "w3000");

        assertThat(windows).as("a week, 35 days and a year back from the user's last message").hasSize(3);
        for (String plan : windows) {
            assertThat(plan).contains("message_words_idx").contains("''~u:7''");
            assertNoSeqScanOnRows(plan);
        }
    }

    @Test
    void a_heavy_users_common_word_reads_only_the_last_weeks_partitions_through_the_index() throws SQLException {
        String plan = explainWindows(new MessageSearch.Scope.User(HEAVY_USER), "w1").getFirst();

        assertThat(planned(plan)).as("the week before the user's last message, never the months made ahead: " + plan)
                .hasSizeLessThanOrEqualTo(2).allMatch(partition -> partition.startsWith("messages_y"));
        assertThat(plan).contains("message_words_idx").contains("''~u:2000''");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_conversation_search_reads_by_index() throws SQLException {
        for (String plan : explainWindows(new MessageSearch.Scope.Conversation(conversation), "w2500")) {
            assertThat(plan).containsAnyOf("message_words_idx", "_pkey");
            assertNoSeqScanOnRows(plan);
        }
    }

    @Test
    void an_app_wide_search_for_a_rare_word_reads_the_words_column_of_the_index() throws SQLException {
        List<String> windows = explainWindows(new MessageSearch.Scope.App(), "w4990");

        assertThat(windows).anySatisfy(plan -> assertThat(plan).contains("message_words_idx"));
        for (String plan : windows) {
            assertNoSeqScanOnRows(plan);
        }
    }

    @Test
    void an_app_wide_search_hangs_its_first_week_from_now_and_reads_rows_only_in_that_weeks_months() throws SQLException {
        Instant now = Instant.now();
        String plan = explainWindows(new MessageSearch.Scope.App(), "w4990").getFirst();

        // The months made ahead and messages_after are planned too, and hold no rows on any date.
        assertThat(planned(plan)).as(plan).contains(Partitions.AFTER);
        assertThat(holdingRows(planned(plan))).as(plan).isNotEmpty()
                .isSubsetOf(Partitions.nameOf(month(now.minus(Duration.ofDays(7)))), Partitions.nameOf(month(now)));
        assertThat(plan).contains("message_words_idx");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void search_is_planned_for_its_words_every_time_even_where_the_session_asks_for_generic_plans() {
        List<Object[]> statements;
        try (Database oneSession = TestDatabase.pool(TestDatabase.get().target(DB), 1)) {
            oneSession.read(h -> h.execute(new Query("test.generic", "SET plan_cache_mode = force_generic_plan")));
            var search = new MessageSearch(oneSession, Clock.systemUTC());
            for (int i = 0; i < 8; i++) { // pgjdbc prepares a statement on the server from its fifth use
                search.search(APP, new MessageSearch.Scope.User(USER), "w" + (i + 3000), null, MessageSearch.Order.RECENT,
                        MessageSearch.After.START, 20);
            }
            statements = oneSession.read(h -> h.list(new Query("test.prepared", """
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

        // A message id is unique, so (app_id, message_id) of V13's messages_app_time_idx finds the row as the
        // primary key does, from a smaller index; the planner may take either.
        assertThat(plan).containsAnyOf("_pkey", "_app_id_message_id_idx");
        assertNoSeqScanOnRows(plan);
    }
}
