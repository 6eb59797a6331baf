package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Partitions;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.ops.Maintenance;
import dev.parley.search.Snippets;
import dev.parley.support.PlanData;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
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
 * EXPLAIN on the search statement over 150,000 messages in six monthly partitions, written from a
 * vocabulary where a few words are everywhere and most are rare, ANALYZEd. 1,700 users have one
 * conversation each; one heavy user has 300, 15 % of all messages. The dataset is written relative
 * to the database's now(), and each search is explained in its generic plan, as it runs, with the
 * windows MessageSearch computes for it (from the scope's own span, or from now for the app), so
 * the plans are those of the day the suite runs on.
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
            PlanData.pointConversationsAtTheirLastMessages(s);
            s.execute("ANALYZE");
            try (var rows = s.executeQuery("SELECT conversation_id FROM conversations WHERE user_id = " + USER)) {
                rows.next();
                conversation = rows.getLong(1);
            }
        }
    }

    /**
     * Partitions of a few rows (months ahead, the catch-alls, the first hours of a month on the day the
     * suite runs) may be read sequentially, which is then the cheapest plan; larger ones may not. A
     * sequential scan planned for a window that never runs (a word in most messages fills the page
     * from the newest month) reads nothing.
     */
    private static void assertNoSeqScanOnRows(String plan) throws SQLException {
        Matcher seq = Pattern.compile("Seq Scan on (?:public\\.)?(messages_\\w+)(?![^\\n]*never executed)").matcher(plan);
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

    /** The search as MessageSearch runs it: one statement, in the generic plan it is run with, for a first page of 20. */
    private static String explain(MessageSearch.Scope scope, String words, MessageSearch.Order order) throws SQLException {
        MessageSearch.Plan search = database.read(handle -> MessageSearch.plan(handle, APP, scope, words, null));
        return explain(scope, search, order);
    }

    private static String explain(MessageSearch.Scope scope, MessageSearch.Plan search, MessageSearch.Order order) throws SQLException {
        try (var s = connection.createStatement()) {
            for (var setting : MessageSearch.SETTINGS.entrySet()) {
                s.execute("SET " + setting.getKey() + " = " + setting.getValue());
            }
            NamedQuery.Binding bound = search.bound(scope, order, MessageSearch.After.START, 20, Instant.now());
            return plans.explainGenericVerbose(bound.query(), bound.arguments());
        } finally {
            try (var s = connection.createStatement()) {
                s.execute("RESET ALL");
            }
        }
    }

    /** The message partitions the plan read, in the order of its nodes; one entry per scan, so a partition read twice is listed twice. */
    private static List<String> read(String plan) {
        return plan.lines().filter(line -> line.contains("Bitmap Heap Scan on") && !line.contains("never executed"))
                .map(line -> line.replaceAll(".* on public\\.(messages_\\w+) .*", "$1")).toList();
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

    /** The newest message of the user's conversations, which their windows hang from. */
    private static Instant lastActivity(long user) throws SQLException {
        try (var s = connection.createStatement();
             var rows = s.executeQuery("SELECT max(last_activity_at) FROM conversations WHERE user_id = " + user)) {
            rows.next();
            return rows.getTimestamp(1).toInstant();
        }
    }

    @Test
    void a_users_search_for_a_rare_word_reads_the_words_index_once_per_partition_with_the_user_in_its_condition() throws SQLException {
        String plan = explain(new MessageSearch.Scope.User(USER), "w3000", MessageSearch.Order.RELEVANCE);

        // Generic: the condition is a parameter, the bound tsquery ('w3000' & '~u:7'); no column is filtered on
        // by any other index, so the user cannot fall out of the index condition as a planner's choice.
        assertThat(plan).contains("Bitmap Index Scan on messages_y").containsPattern("Index Cond: \\(m_\\d+\\.words @@ \\$\\d+\\)");
        assertThat(plan).doesNotContain("user_id =");
        assertThat(read(plan)).as("a rare word reaches back through every month, each partition once: " + plan)
                .isNotEmpty().doesNotHaveDuplicates();
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void common_and_rare_words_of_light_and_heavy_users_read_the_words_index_in_the_generic_plan() throws SQLException {
        for (long user : List.of(USER, HEAVY_USER)) {
            for (String words : List.of("w0", "w3000")) {
                var scope = new MessageSearch.Scope.User(user);
                MessageSearch.Plan search = database.read(handle -> MessageSearch.plan(handle, APP, scope, words, null));
                String generic = explain(scope, search, MessageSearch.Order.RELEVANCE);
                assertThat(generic).as("user %d, %s", user, words).contains("words_idx").doesNotContain("user_id =");
                assertNoSeqScanOnRows(generic);
                // The months are read once each; a heavy user's newest two weeks before them, each in one month. The
                // months after the weeks start below the second week, so they may be grouped into windows otherwise
                // than without weeks (when the user's last message is in a month's first days, say).
                List<String> months = read(explain(scope, new MessageSearch.Plan(search.words(), search.token(), search.floorId(),
                        search.ceilingId(), false), MessageSearch.Order.RELEVANCE));
                assertThat(months).as("user %d, %s", user, words).doesNotHaveDuplicates();
                List<String> reads = read(generic);
                int weeks = search.weekly() ? 2 : 0;
                assertThat(reads).as("user %d, %s: %s", user, words, generic).containsAll(months)
                        .hasSizeLessThanOrEqualTo(months.size() + weeks);
                assertThat(reads.subList(Math.min(weeks, reads.size()), reads.size())).as("user %d, %s: %s", user, words, generic)
                        .doesNotHaveDuplicates();
                if (weeks == 0) {
                    assertThat(reads).as("user %d, %s: %s", user, words, generic).containsExactlyElementsOf(months);
                }
            }
        }
    }

    @Test
    void a_heavy_users_common_word_fetches_only_the_matches_of_their_newest_week() throws SQLException {
        // w0 is in most messages: the heavy user's last 300 (one per conversation, all in the same
        // millisecond) hold 200; the month they are in holds more, unless it began in their week.
        var scope = new MessageSearch.Scope.User(HEAVY_USER);
        String plan = explain(scope, "w0", MessageSearch.Order.RELEVANCE);
        MessageSearch.Plan weekly = database.read(handle -> MessageSearch.plan(handle, APP, scope, "w0", null));
        String monthsAlone = explain(scope, new MessageSearch.Plan(weekly.words(), weekly.token(), weekly.floorId(), weekly.ceilingId(), false),
                MessageSearch.Order.RELEVANCE);

        MessageSearch.Window week = MessageSearch.weeks(weekly.floorId(), weekly.ceilingId(), 1).getFirst();
        long weekMatches = matches(HEAVY_USER, "w0", week.lower(), week.upper());
        long monthMatches = matches(HEAVY_USER, "w0", Partitions.floorOf(month(lastActivity(HEAVY_USER))), week.upper());
        assertThat(weekMatches).as("the dataset: the newest week holds the candidates").isGreaterThanOrEqualTo(MessageSearch.CANDIDATES);
        assertThat(heapRowsFetched(plan)).as("only the week's matches are fetched: " + plan).isEqualTo(weekMatches);
        assertThat(heapRowsFetched(monthsAlone)).as("where the months alone fetch the month's: " + monthsAlone).isEqualTo(monthMatches);
        assertThat(plan).contains("(never executed)");
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void a_users_weeks_first_find_the_same_hits_as_the_months_alone() throws SQLException {
        for (long user : List.of(USER, HEAVY_USER)) {
            var scope = new MessageSearch.Scope.User(user);
            for (String words : List.of("w0", "w1", "w40", "w3000")) {
                MessageSearch.Plan weekly = database.read(handle -> MessageSearch.plan(handle, APP, scope, words, null));
                MessageSearch.Plan monthly = new MessageSearch.Plan(weekly.words(), weekly.token(), weekly.floorId(), weekly.ceilingId(), false);
                assertThat(weekly.weekly()).as("only a heavy user's search reads weeks first").isEqualTo(user == HEAVY_USER);
                for (MessageSearch.Order order : MessageSearch.Order.values()) {
                    List<Long> byWeeks = hits(scope, weekly, order, MessageSearch.After.START);
                    assertThat(byWeeks).as("user %d, %s, %s", user, words, order)
                            .isEqualTo(hits(scope, monthly, order, MessageSearch.After.START));
                    if (order == MessageSearch.Order.RECENT && !byWeeks.isEmpty()) { // the second page hangs its weeks from the cursor
                        var after = new MessageSearch.After(0, byWeeks.getLast());
                        assertThat(hits(scope, weekly, order, after)).as("user %d, %s, page 2", user, words)
                                .isEqualTo(hits(scope, monthly, order, after));
                    }
                }
            }
        }
        var heavy = new MessageSearch.Scope.User(HEAVY_USER);
        assertThat(hits(heavy, database.read(handle -> MessageSearch.plan(handle, APP, heavy, "w0", null)), MessageSearch.Order.RECENT,
                MessageSearch.After.START)).as("a full page, so the comparison compared something").hasSize(20);
    }

    @Test
    void a_users_span_is_read_from_the_inbox_index_alone_and_from_their_most_recent_conversations_only() throws SQLException {
        try (var s = connection.createStatement()) {
            s.execute("VACUUM (ANALYZE) conversations"); // as autovacuum would have: the visibility map set
        }
        NamedQuery.Binding span = MessageSearch.USER_SPAN.bind("language", "english").bind("text", "w0").bind("app_id", APP)
                .bind("user_id", HEAVY_USER);
        String plan = plans.explainGenericVerbose(span.query(), span.arguments());

        assertThat(plan).as(plan).containsPattern("Index Only Scan (Backward )?using conversations_inbox_idx").contains("Heap Fetches: 0");
        String scan = plan.lines().filter(line -> line.contains("using conversations_inbox_idx")).findFirst().orElseThrow();
        assertThat(scan).as("300 conversations, %d read", MessageSearch.SPAN_CONVERSATIONS)
                .contains("rows=" + (MessageSearch.SPAN_CONVERSATIONS + 1) + " ");
    }

    @Test
    void a_user_past_the_conversations_a_span_reads_has_no_floor_and_the_same_hits() throws SQLException {
        var heavy = new MessageSearch.Scope.User(HEAVY_USER);
        long first;
        try (var s = connection.createStatement();
             var rows = s.executeQuery("SELECT min(conversation_id) FROM conversations WHERE user_id = " + HEAVY_USER)) {
            rows.next();
            first = rows.getLong(1);
        }
        for (String words : List.of("w0", "w40", "w3000")) {
            MessageSearch.Plan plan = database.read(handle -> MessageSearch.plan(handle, APP, heavy, words, null));
            assertThat(plan.floorId()).as("more than %d conversations", MessageSearch.SPAN_CONVERSATIONS).isZero();
            assertThat(plan.weekly()).as("read as a heavy user's").isTrue();
            var floored = new MessageSearch.Plan(plan.words(), plan.token(), first, plan.ceilingId(), true);
            for (MessageSearch.Order order : MessageSearch.Order.values()) {
                List<Long> hits = hits(heavy, plan, order, MessageSearch.After.START);
                assertThat(hits).as("%s, %s", words, order).isNotEmpty()
                        .isEqualTo(hits(heavy, floored, order, MessageSearch.After.START));
            }
        }
    }

    /** How many of the user's messages in ids [lower, upper) match the words, counted without the words index's tokens. */
    private static long matches(long user, String words, long lower, long upper) throws SQLException {
        try (var s = connection.createStatement();
             var rows = s.executeQuery("SELECT count(*) FROM messages WHERE user_id = %d AND message_id >= %d AND message_id < %d"
                     .formatted(user, lower, upper) + " AND to_tsvector('english', content) @@ '" + words + "'::tsquery")) {
            rows.next();
            return rows.getLong(1);
        }
    }

    private static final Pattern ROWS = Pattern.compile("rows=(\\d+)");

    /** Rows the plan's executed bitmap heap scans fetched: those they returned and those their filters removed. */
    private static long heapRowsFetched(String plan) {
        long fetched = 0;
        boolean inHeapScan = false;
        for (String line : plan.lines().toList()) {
            if (line.contains("->")) {
                inHeapScan = line.contains("Bitmap Heap Scan on") && !line.contains("never executed");
                Matcher rows = ROWS.matcher(line);
                if (inHeapScan && rows.find()) {
                    fetched += Long.parseLong(rows.group(1));
                }
            } else if (inHeapScan && line.contains("Rows Removed by")) {
                fetched += Long.parseLong(line.replaceAll(".*: (\\d+).*", "$1"));
            }
        }
        return fetched;
    }

    /** The ids of a first page of 20, as the search statement returns them for the plan. */
    private static List<Long> hits(MessageSearch.Scope scope, MessageSearch.Plan plan, MessageSearch.Order order,
                                   MessageSearch.After after) {
        return database.read(handle -> handle.list(plan.bound(scope, order, after, 20, Instant.now()), row -> row.getLong("message_id")));
    }

    @Test
    void ranking_reads_the_stored_words_and_no_message_is_parsed_again() throws SQLException {
        String plan = explain(new MessageSearch.Scope.User(HEAVY_USER), "w1", MessageSearch.Order.RELEVANCE);

        assertThat(plan).as("no message is parsed again to be ranked").doesNotContain("to_tsvector")
                .contains("ts_rank_cd(m.words");
        // The page's snippets are made in Parley (Snippets), from the texts the statement returns.
        assertThat(plan).doesNotContain("ts_headline");
    }

    @Test
    void a_conversation_search_reads_by_index() throws SQLException {
        for (MessageSearch.Order order : MessageSearch.Order.values()) {
            String plan = explain(new MessageSearch.Scope.Conversation(conversation), "w2500", order);
            assertThat(plan).contains("words_idx");
            assertNoSeqScanOnRows(plan);
        }
    }

    @Test
    void an_app_wide_search_for_a_rare_word_reads_the_words_index_and_each_partition_once() throws SQLException {
        String plan = explain(new MessageSearch.Scope.App(), "w4990", MessageSearch.Order.RELEVANCE);

        assertThat(plan).contains("words_idx");
        assertThat(read(plan)).doesNotHaveDuplicates();
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void an_app_wide_search_for_recent_hits_of_a_common_word_reads_only_this_month_and_the_months_made_ahead() throws SQLException {
        String plan = explain(new MessageSearch.Scope.App(), "w1", MessageSearch.Order.RECENT);

        // The first window is [this month, MAXVALUE): the months made ahead and messages_after hold no rows on any
        // date. The dataset's newest messages are two days old, so early in a month the month before is read too.
        Instant now = Instant.now();
        assertThat(holdingRows(read(plan))).as(plan).isNotEmpty()
                .isSubsetOf(Partitions.nameOf(month(now)), Partitions.nameOf(month(now).minusMonths(1)));
        assertNoSeqScanOnRows(plan);
    }

    @Test
    void search_runs_its_generic_plan_even_where_the_session_asks_for_custom_plans() {
        List<Object[]> statements;
        try (Database oneSession = TestDatabase.pool(TestDatabase.get().target(DB), 1)) {
            oneSession.read(handle -> handle.execute(new Query("test.custom", "SET plan_cache_mode = force_custom_plan")));
            var search = new MessageSearch(oneSession, Clock.systemUTC(), new Snippets());
            for (int i = 0; i < 8; i++) { // pgjdbc prepares a statement on the server from its fifth use
                search.search(APP, new MessageSearch.Scope.User(USER), "w" + (i + 3000), null, MessageSearch.Order.RECENT,
                        MessageSearch.After.START, 20);
            }
            statements = oneSession.read(handle -> handle.list(new Query("test.prepared", """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%m.words @@%'"""),
                    row -> new Object[] {row.getLong(1), row.getLong(2)}));
        }

        assertThat(statements).isNotEmpty().allSatisfy(counts -> {
            assertThat((long) counts[0]).as("generic plans").isPositive();
            assertThat((long) counts[1]).as("custom plans").isZero();
        });
    }
}
