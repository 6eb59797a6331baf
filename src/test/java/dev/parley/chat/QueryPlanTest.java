package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.support.PlanData;
import dev.parley.support.Plans;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on every hot query over a realistic dataset: 240,000 messages in 10,000 conversations
 * spread over eight monthly partitions, plus one heavy conversation of 20,000 messages and one that
 * went quiet half a year ago, ANALYZEd. The dataset is written relative to the database's now(), and
 * history is explained with the bounds MessageLog computes from it, so the plans are those of
 * whatever day the suite runs on. Asserts the intended index is used and that history and inbox
 * leave alone the partitions they cannot need.
 */
class QueryPlanTest {
    private static final String DB = "parley_plans";
    private static final int CONVERSATIONS = 10_000;
    private static final int MESSAGES_PER_CONVERSATION = 24;
    private static final long APP = 1;
    private static final int HEAVY_MESSAGES = 20_000;
    private static final int QUIET_MESSAGES = 60;
    private static final int PAGE = 51; // a page of 50 and one more, to know whether there are older ones

    private static Database database;
    private static Connection connection;
    private static Plans plans;
    private static int monthlyPartitions;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 2);
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        new Partitions(database).ensure(now.minusMonths(8), now.plusMonths(3));
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('plans')");
            // 20,000 characters: one in a hundred is "calm", ten in all are "serene".
            s.execute("""
                    INSERT INTO characters (app_id, name, traits)
                    SELECT 1, 'character ' || g,
                           jsonb_build_object('energy', CASE WHEN g % 2000 = 0 THEN 'serene'
                                                             WHEN g % 100 = 0 THEN 'calm' ELSE 'busy' END,
                                              'style', (ARRAY['flirty', 'wise', 'funny', 'dark', 'shy'])[1 + g % 5])
                      FROM generate_series(1, 20000) g""");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 2000) g");
            // Conversations start over the last eight months; each id encodes its start time.
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, 1 + g %% 2000, 1 + g %% 20000, id, parley_id_time(id), parley_id_time(id), now()
                      FROM generate_series(1, %d) g,
                           LATERAL (SELECT (((extract(epoch FROM now() - interval '8 months' + g * interval '7 months' / %d)
                                              * 1000)::bigint - 946684800000) << 22) | g AS id) i""".formatted(CONVERSATIONS, CONVERSATIONS));
            s.execute("""
                    INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id)
                    SELECT app_id, conversation_id, 'user', user_id FROM conversations""");
            // Each conversation's messages are spread from its start until now.
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, author_user_id, created_at, role, content)
                    SELECT 1, c.conversation_id, c.user_id, m.id, k, c.user_id, parley_id_time(m.id),
                           CASE WHEN k %% 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || k || ' of ' || c.conversation_id
                      FROM conversations c, generate_series(1, %d) k,
                           LATERAL (SELECT (((extract(epoch FROM c.created_at + (now() - c.created_at) * k / %d.0)
                                              * 1000)::bigint - 946684800000) << 22)
                                           | ((c.conversation_id & 65535) * 32 + k) AS id) m""".formatted(MESSAGES_PER_CONVERSATION,
                    MESSAGES_PER_CONVERSATION + 1));
            // A heavy user's conversation, four months old, with 20,000 messages in every month since.
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, 1, 1, id, parley_id_time(id), parley_id_time(id), now()
                      FROM (SELECT (((extract(epoch FROM now() - interval '4 months') * 1000)::bigint - 946684800000) << 22)
                                   | 4194303 AS id) i""");
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, author_user_id, created_at, role, content)
                    SELECT 1, c.conversation_id, 1, m.id, k, 1, parley_id_time(m.id), 'user', 'heavy ' || k
                      FROM conversations c, generate_series(1, %d) k,
                           LATERAL (SELECT (((extract(epoch FROM c.created_at + (now() - c.created_at) * k / %d.0)
                                              * 1000)::bigint - 946684800000) << 22) | (4000000 + k %% 100000) AS id) m
                     WHERE c.conversation_id & 4194303 = 4194303""".formatted(HEAVY_MESSAGES, HEAVY_MESSAGES + 1));
            // A conversation that started 200 days ago, went on for three weeks and has been quiet since.
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, 2, 2, id, parley_id_time(id), parley_id_time(id), now()
                      FROM (SELECT (((extract(epoch FROM now() - interval '200 days') * 1000)::bigint - 946684800000) << 22)
                                   | 4194302 AS id) i""");
            s.execute("""
                    INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, author_user_id, created_at, role, content)
                    SELECT 1, c.conversation_id, 2, m.id, k, 2, parley_id_time(m.id), 'user', 'quiet ' || k
                      FROM conversations c, generate_series(1, %d) k,
                           LATERAL (SELECT (((extract(epoch FROM c.created_at + interval '21 days' * k / %d.0)
                                              * 1000)::bigint - 946684800000) << 22) | (3900000 + k) AS id) m
                     WHERE c.conversation_id & 4194303 = 4194302""".formatted(QUIET_MESSAGES, QUIET_MESSAGES + 1));
            PlanData.pointConversationsAtTheirLastMessages(s);
            s.execute("UPDATE conversations SET last_message_role = 'assistant', last_message_preview = 'hi' WHERE last_message_id IS NOT NULL");
            s.execute("""
                    INSERT INTO message_idempotency_keys (app_id, conversation_id, idempotency_key, request_hash, message_id)
                    SELECT app_id, conversation_id, 'key-' || seq, sha256(content::bytea), message_id
                      FROM messages WHERE seq <= 5""");
            PlanData.spillDeletedSeqs(s);
            s.execute("ANALYZE");
        }
        monthlyPartitions = (int) new Partitions(database).list().stream().filter(p -> !p.isCatchAll()).count();
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
        database.close();
    }

    @Test
    void the_dataset_is_realistic_enough_to_plan_against() throws SQLException {
        try (var s = connection.createStatement(); var rows = s.executeQuery("""
                SELECT count(*), count(DISTINCT tableoid) FROM messages""")) {
            rows.next();
            assertThat(rows.getLong(1)).isGreaterThanOrEqualTo(200_000);
            assertThat(rows.getInt(2)).as("monthly partitions holding messages").isGreaterThanOrEqualTo(6);
        }
    }

    @Test
    void the_newest_message_id_is_one_primary_key_lookup_of_the_conversation() throws SQLException {
        String plan = plans.explain(MessageLog.NEWEST_ID, APP, heavyConversation());

        assertThat(plan).contains("Index Scan using conversations_pkey").doesNotContain("messages");
    }

    @Test
    void latest_history_skips_partitions_from_before_the_conversation_and_reads_by_index() throws SQLException {
        long conversation = conversationStartedMonthsAgo(3);
        Bounds latest = latestPage(conversation);
        YearMonth start = monthOf(conversation);

        for (String plan : List.of(plans.explain(MessageLog.RECENT, APP, conversation, latest.windowStart(), latest.newestId(), PAGE),
                plans.explain(MessageLog.OLDER, APP, conversation, conversation, latest.windowStart(), PAGE))) {
            assertThat(plan).contains("Index Scan Backward using messages_y");
            assertThat(scans(plan)).as(plan).isNotEmpty().allSatisfy(scan -> {
                assertThat(scan.partition().compareTo(Partitions.nameOf(start)) >= 0)
                        .as("partition " + scan.partition() + " is not older than the conversation").isTrue();
                if (scan.rows() > 0) {
                    assertThat(scan.node()).as("partitions holding rows are read through their primary key").contains("Index Scan");
                }
            });
        }
    }

    @Test
    void the_first_look_of_a_latest_page_plans_only_the_months_of_the_window_before_the_last_message() throws SQLException {
        long heavy = heavyConversation();
        Bounds latest = latestPage(heavy);
        String plan = plans.explain(MessageLog.RECENT, APP, heavy, latest.windowStart(), latest.newestId(), PAGE);

        // 31 days span three months when they end early in a month that follows a shorter one (1 December: 31 October on).
        assertThat(planned(plan)).as("the months of the window, never the months made ahead: " + plan)
                .containsExactlyInAnyOrderElementsOf(monthsBetween(latest.windowStart(), latest.newestId()))
                .hasSizeLessThanOrEqualTo(3);
        assertThat(read(plan)).as(plan).isEqualTo(partitionsHolding(heavy, latest.newestId(), PAGE));
        assertThat(plan).doesNotContain("Sort").doesNotContain("Seq Scan");
    }

    @Test
    void a_conversation_quiet_for_months_finds_its_latest_page_in_the_first_look() throws SQLException {
        long quiet = quietConversation();
        Bounds latest = latestPage(quiet);

        List<Long> firstLook = messageIds(MessageLog.RECENT, APP, quiet, latest.windowStart(), latest.newestId(), PAGE);
        String plan = plans.explain(MessageLog.RECENT, APP, quiet, latest.windowStart(), latest.newestId(), PAGE);

        assertThat(firstLook).as("a full page, so the reach further back never runs").hasSize(PAGE);
        assertThat(planned(plan)).as(plan).containsExactlyInAnyOrderElementsOf(monthsBetween(latest.windowStart(), latest.newestId()));
    }

    @Test
    void windowed_pages_return_exactly_what_one_unbounded_query_would() throws SQLException {
        List<Long> conversations = List.of(conversationStartedMonthsAgo(7), conversationStartedMonthsAgo(3),
                conversationStartedMonthsAgo(2), heavyConversation(), quietConversation());
        for (long conversation : conversations) {
            long newest = latestPage(conversation).newestId();
            long cursor = messageIds(MessageLog.OLDER, APP, conversation, conversation, Long.MAX_VALUE, 12).getLast();
            for (long upTo : new long[] {newest, cursor - 1}) {
                for (int limit : new int[] {1, 5, 23, 51}) {
                    int n = limit;
                    List<Long> expected = messageIds(MessageLog.OLDER, APP, conversation, conversation, upTo, n);
                    List<Long> actual = database.read(handle -> MessageLog.newestFirst(handle, MessageLog.RECENT, MessageLog.OLDER,
                            row -> row.getLong("message_id"), APP, conversation, upTo, n));
                    assertThat(actual).as("conversation " + conversation + " up to " + upTo + " limit " + limit).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void reaching_back_through_a_heavy_conversation_reads_only_the_partitions_holding_the_page() throws SQLException {
        long heavy = heavyConversation();
        long newest = latestPage(heavy).newestId();
        String plan = plans.explain(MessageLog.OLDER, APP, heavy, heavy, newest, PAGE);

        assertThat(plan).doesNotContain("Sort").doesNotContain("Merge Append").doesNotContain("Seq Scan");
        assertThat(read(plan)).as(plan).isEqualTo(partitionsHolding(heavy, newest, PAGE));
        assertThat(plan).as("older partitions are never read").contains("never executed");
    }

    @Test
    void latest_history_prunes_the_same_way_with_a_generic_plan() throws SQLException {
        long heavy = heavyConversation();
        Bounds latest = latestPage(heavy);

        for (String plan : List.of(plans.explainGeneric(MessageLog.RECENT, APP, heavy, latest.windowStart(), latest.newestId(), PAGE),
                plans.explainGeneric(MessageLog.OLDER, APP, heavy, heavy, latest.newestId(), PAGE))) {
            assertThat(plan).as("partitions outside the ids asked for are removed at executor start")
                    .contains("Subplans Removed").doesNotContain("Sort").doesNotContain("Merge Append");
            assertThat(read(plan)).as(plan).isEqualTo(partitionsHolding(heavy, latest.newestId(), PAGE));
        }
    }

    @Test
    void a_page_before_a_cursor_reads_only_partitions_between_conversation_start_and_cursor() throws SQLException {
        long conversation = conversationStartedMonthsAgo(7);
        long newest = middleMessage(conversation) - 1;
        long windowStart = MessageLog.windowStart(conversation, newest);

        for (String plan : List.of(plans.explain(MessageLog.RECENT, APP, conversation, windowStart, newest, PAGE),
                plans.explain(MessageLog.OLDER, APP, conversation, conversation, windowStart, PAGE))) {
            assertThat(plan).contains("Index Scan Backward using messages_y");
            assertThat(scans(plan)).as(plan).hasSizeLessThan(monthlyPartitions)
                    .noneMatch(scan -> scan.partition().equals(Partitions.AFTER))
                    .allMatch(scan -> scan.rows() == 0 || scan.node().contains("Index Scan"));
        }
    }

    @Test
    void a_page_after_a_cursor_scans_forward_from_the_cursor() throws SQLException {
        long conversation = conversationStartedMonthsAgo(7);
        NamedQuery.Binding after = MessageLog.AFTER.bind("app_id", APP).bind("conversation_id", conversation)
                .bind("after_id", middleMessage(conversation)).bind("limit", 51);
        String plan = plans.explain(after.query(), after.arguments());

        assertThat(plan).contains("Index Scan using messages_y");
        assertThat(scans(plan)).as(plan).allMatch(scan -> scan.rows() == 0 || scan.node().contains("Index Scan"));
    }

    @Test
    void inbox_is_one_backward_index_scan_and_never_touches_messages() throws SQLException {
        String plan = plans.explain(Inbox.PAGE, APP, 42L, Long.MAX_VALUE, Long.MAX_VALUE, 20);

        assertThat(plan).contains("conversations_inbox_idx").doesNotContain("messages").doesNotContain("Seq Scan")
                .as("deletes past the row's list, counted from their own table's index (V28)")
                .contains("conversation_deleted_seqs_pkey");
    }

    @Test
    void a_selective_trait_filter_uses_the_gin_index() throws SQLException {
        String plan = plans.explain(Characters.LIST_BY_TRAITS, APP, 0L, "{\"energy\":\"serene\"}", 20);

        assertThat(plan).contains("Bitmap Index Scan on characters_traits_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_common_trait_filter_walks_the_primary_key_and_stops_at_the_page_size() throws SQLException {
        String plan = plans.explain(Characters.LIST_BY_TRAITS, APP, 0L, "{\"energy\":\"calm\"}", 20);

        assertThat(plan).containsAnyOf("characters_pkey", "characters_traits_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_message_lookup_by_id_reads_one_partition() throws SQLException {
        long conversation = conversationStartedMonthsAgo(5);
        String plan = plans.explain(MessageLog.GET, APP, conversation, middleMessage(conversation));

        assertThat(scans(plan)).as(plan).hasSize(1);
    }

    @Test
    void append_locks_and_writes_through_primary_keys_on_the_generic_plans_it_runs() throws SQLException {
        long conversation = conversationStartedMonthsAgo(2);
        var apps = connection.createArrayOf("bigint", new Long[] {APP});
        var ids = connection.createArrayOf("bigint", new Long[] {conversation});
        var texts = connection.createArrayOf("text", new String[] {"user"});
        String lock = plans.explainGeneric(BatchWriter.LOCK_CONVERSATIONS, apps, ids);
        String replays = plans.explainGeneric(BatchWriter.FIND_REPLAYS, apps, ids, texts);
        List<Object> write = new ArrayList<>();
        for (String type : List.of("bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text",
                "bigint", "text", // the message
                "bigint", "bigint", "text", "text", "bigint", // its idempotency key
                "bigint", "bigint", "bigint", "bigint", "bigint", "text", "text", // the conversation
                "bigint", "bigint", "text", "bigint", "bigint")) { // the author's read marker
            write.add(type.equals("bigint") ? ids : texts);
        }
        write.add(1L); // how many messages it was given
        String written = plans.explainGenericPlanOnly(BatchWriter.WRITE, write.toArray());
        String parents = plans.explainGeneric(BatchWriter.FIND_PARENTS, apps, ids,
                connection.createArrayOf("bigint", new Long[] {middleMessage(conversation)}));

        assertThat(lock).contains("conversations_pkey").doesNotContain("Seq Scan on conversations");
        assertThat(replays).contains("message_idempotency_keys_pkey").doesNotContain("Seq Scan on message_idempotency_keys");
        assertThat(scans(parents)).as("a reply's parent is looked up in its month alone: " + parents).hasSize(1);
        assertThat(written).as(written).contains("Insert on messages", "Insert on message_idempotency_keys",
                "Index Scan using conversations_pkey", "Index Scan using conversation_members_").doesNotContain("Seq Scan");
    }

    @Test
    void a_read_marker_moves_on_a_generic_plan_that_finds_the_message_in_its_month_alone() throws SQLException {
        long conversation = conversationStartedMonthsAgo(4);
        long message = middleMessage(conversation);
        List<long[]> statements;
        try (Database oneSession = TestDatabase.pool(TestDatabase.get().target(DB), 1)) {
            var markers = new ReadMarkers(oneSession, dev.parley.cache.ReadCache.none());
            for (int i = 0; i < 8; i++) { // pgjdbc prepares a statement on the server from its fifth use
                assertThat(markers.markRead(APP, conversation, message, Members.Kind.USER, null).readSeq())
                        .isEqualTo(MESSAGES_PER_CONVERSATION / 2);
            }
            statements = oneSession.read(handle -> handle.list(new Query("test.prepared", """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%read_marker.mark %'"""),
                    row -> new long[] {row.getLong(1), row.getLong(2)}));
        }
        String generic = plans.explainGeneric(ReadMarkers.MARK, APP, conversation, "user", APP, message);

        assertThat(statements).hasSize(1).allSatisfy(counts -> {
            assertThat(counts[0]).as("generic plans").isPositive();
            assertThat(counts[1]).as("custom plans: each planned every month again").isZero();
        });
        assertThat(generic).as(generic).contains("Subplans Removed", "conversation_members_pkey", "conversations_pkey")
                .doesNotContain("Seq Scan");
    }

    @Test
    void counters_are_written_through_the_primary_keys_of_conversations_and_users() throws SQLException {
        List<Long> conversations = ids("SELECT conversation_id FROM conversations ORDER BY conversation_id LIMIT 25");
        List<Long> users = ids("SELECT user_id FROM users ORDER BY user_id LIMIT 25");
        List<String> kinds = new ArrayList<>(Collections.nCopies(conversations.size(), "conversation"));
        kinds.addAll(Collections.nCopies(users.size(), "user"));
        List<Long> holders = new ArrayList<>(conversations);
        holders.addAll(users);

        String flush = plans.explainPlanOnly(CounterBuffer.FLUSH, connection.createArrayOf("text", kinds.toArray()),
                connection.createArrayOf("bigint", Collections.nCopies(holders.size(), APP).toArray()),
                connection.createArrayOf("bigint", holders.toArray()),
                connection.createArrayOf("text", Collections.nCopies(holders.size(), "{\"xp\": 1}").toArray()));
        // The increments twice: the new values, then the check that they leave room (at most 100 counters).
        String conversation = plans.explainPlanOnly(CounterBuffer.INCREMENT_CONVERSATION, "{\"xp\": 1}", APP, conversations.getFirst(),
                "{\"xp\": 1}");
        String user = plans.explainPlanOnly(CounterBuffer.INCREMENT_USER, "{\"xp\": 1}", APP, users.getFirst(), "{\"xp\": 1}");

        assertThat(flush).contains("conversations_pkey").contains("users_pkey")
                .doesNotContain("Seq Scan on conversations").doesNotContain("Seq Scan on users");
        assertThat(conversation).contains("conversations_pkey").doesNotContain("Seq Scan");
        assertThat(user).contains("users_pkey").doesNotContain("Seq Scan");
    }

    private List<Long> ids(String sql) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (var s = connection.createStatement(); var rows = s.executeQuery(sql)) {
            while (rows.next()) {
                ids.add(rows.getLong(1));
            }
        }
        return ids;
    }

    @Test
    void app_counts_are_estimated_for_large_tables_and_exact_for_small_ones() {
        var counts = new Stats(database).appCounts(APP).tables();
        long messages = CONVERSATIONS * MESSAGES_PER_CONVERSATION + HEAVY_MESSAGES + QUIET_MESSAGES;

        assertThat(counts.get("messages").exact()).isFalse();
        assertThat(counts.get("messages").rows()).isBetween(messages * 8 / 10, messages * 12 / 10);
        assertThat(counts.get("users")).isEqualTo(new Stats.Count(2000, true));
    }

    private static long conversationStartedMonthsAgo(int months) throws SQLException {
        try (var s = connection.prepareStatement("""
                SELECT conversation_id FROM conversations
                 WHERE created_at > now() - make_interval(months => ?) ORDER BY conversation_id LIMIT 1""")) {
            s.setInt(1, months);
            try (var rows = s.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static long middleMessage(long conversation) throws SQLException {
        try (var s = connection.prepareStatement(
                "SELECT message_id FROM messages WHERE app_id = 1 AND conversation_id = ? AND seq = ?")) {
            s.setLong(1, conversation);
            s.setInt(2, MESSAGES_PER_CONVERSATION / 2);
            try (var rows = s.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    /** Runs a message query and returns its message ids in order. */
    private static List<Long> messageIds(Query query, Object... args) throws SQLException {
        try (var s = connection.prepareStatement(query.sql())) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            List<Long> ids = new ArrayList<>();
            try (var rows = s.executeQuery()) {
                while (rows.next()) {
                    ids.add(rows.getLong("message_id"));
                }
            }
            return ids;
        }
    }

    private static long heavyConversation() throws SQLException {
        return conversationMarked(4194303);
    }

    private static long quietConversation() throws SQLException {
        return conversationMarked(4194302);
    }

    private static long conversationMarked(long lowBits) throws SQLException {
        try (var s = connection.createStatement(); var rows = s.executeQuery(
                "SELECT conversation_id FROM conversations WHERE conversation_id & 4194303 = " + lowBits)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    /** The ids a latest page reads first, (window start, newest id], as MessageLog computes them from the data. */
    record Bounds(long windowStart, long newestId) {
    }

    private static Bounds latestPage(long conversation) {
        long newest = database.read(handle -> MessageLog.newestId(handle, APP, conversation));
        return new Bounds(MessageLog.windowStart(conversation, newest), newest);
    }

    private static YearMonth monthOf(long id) {
        return YearMonth.from(Ids.timeOf(id).atZone(ZoneOffset.UTC));
    }

    /** The monthly partitions that hold ids in (lower, upper]. */
    private static List<String> monthsBetween(long lower, long upper) {
        List<String> months = new ArrayList<>();
        for (YearMonth month = monthOf(lower + 1); !month.isAfter(monthOf(upper)); month = month.plusMonths(1)) {
            months.add(Partitions.nameOf(month));
        }
        return months;
    }

    /** The partitions holding the conversation's newest {@code limit} messages up to {@code newestId}. */
    private static Set<String> partitionsHolding(long conversation, long newestId, int limit) throws SQLException {
        try (var s = connection.prepareStatement("""
                SELECT DISTINCT tableoid::regclass::text FROM (
                  SELECT tableoid FROM messages WHERE app_id = 1 AND conversation_id = ? AND message_id <= ?
                   ORDER BY message_id DESC LIMIT ?) newest""")) {
            s.setLong(1, conversation);
            s.setLong(2, newestId);
            s.setInt(3, limit);
            Set<String> partitions = new TreeSet<>();
            try (var rows = s.executeQuery()) {
                while (rows.next()) {
                    partitions.add(rows.getString(1));
                }
            }
            return partitions;
        }
    }

    private static final Pattern PLANNED = Pattern.compile(" on (messages_(?:y\\d{4}m\\d{2}|before|after)) ");

    /** Every message partition in a plan, executed or not. */
    private static List<String> planned(String plan) {
        return PLANNED.matcher(plan).results().map(m -> m.group(1)).toList();
    }

    /** The partitions a plan read rows from. */
    private static Set<String> read(String plan) {
        return scans(plan).stream().filter(scan -> scan.rows() > 0).map(Scan::partition).collect(Collectors.toCollection(TreeSet::new));
    }

    /** One executed scan of a message partition: which partition, what kind of node, how many rows it returned. */
    record Scan(String partition, String node, long rows) {
    }

    private static final Pattern SCAN = Pattern.compile(
            "((?:Index|Index Only|Seq|Bitmap Heap) Scan(?: Backward)?)(?: using \\S+)? on (messages_\\w+) \\S+ \\((?:actual rows=(\\d+)|never executed)");

    /** The message partitions a plan actually read; partitions marked "never executed" are left out. */
    private static List<Scan> scans(String plan) {
        List<Scan> scans = new ArrayList<>();
        Matcher m = SCAN.matcher(plan);
        while (m.find()) {
            if (m.group(3) != null) {
                scans.add(new Scan(m.group(2), m.group(1), Long.parseLong(m.group(3))));
            }
        }
        return scans;
    }
}
