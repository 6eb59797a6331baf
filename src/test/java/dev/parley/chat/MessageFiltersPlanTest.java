package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.support.ArchiveCopies;
import dev.parley.support.PlanData;
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
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * EXPLAIN on the V13 queries over a realistic dataset: 200,000 messages in 10,000 conversations over
 * eight monthly partitions, as a Telegram bridge stores them (every user message carries its
 * telegram_message_id, assistant messages a type and a model, one in ten user messages an attachment),
 * plus one heavy conversation of 20,000 messages over four months, ANALYZEd. Written relative to the
 * database's now(), so the plans are those of whatever day the suite runs on. Each test asserts the
 * intended index and that partitions outside the ids asked for are left alone.
 */
class MessageFiltersPlanTest {
    private static final String DB = "parley_filter_plans";
    private static final long APP = 1;
    private static final int CONVERSATIONS = 10_000;
    private static final int MESSAGES_PER_CONVERSATION = 20;
    private static final int HEAVY_MESSAGES = 20_000;
    private static final long HEAVY_MARK = 4194303;
    private static final long BUSY_CHARACTER = 1; // the heavy conversation's character: 10,000 messages of its own there
    private static final int PAGE = 51;

    private static Database database;
    private static Connection connection;
    private static Plans plans;
    private static long heavy;
    private static long heavyNewest;

    @BeforeAll
    static void loadDataset() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 2);
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        new Partitions(database).ensure(now.minusMonths(8), now.plusMonths(3));
        connection = TestDatabase.get().connect(DB);
        plans = new Plans(connection);
        try (var s = connection.createStatement()) {
            s.execute("INSERT INTO apps (name) VALUES ('filter-plans')");
            s.execute("""
                    INSERT INTO characters (app_id, name, created_at)
                    SELECT 1, 'character ' || g, now() - interval '9 months' FROM generate_series(1, 2000) g""");
            s.execute("INSERT INTO users (app_id, external_id) SELECT 1, 'user-' || g FROM generate_series(1, 2000) g");
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, 1 + g %% 2000, 1 + g %% 2000, id, parley_id_time(id), parley_id_time(id), now()
                      FROM generate_series(1, %d) g,
                           LATERAL (SELECT (((extract(epoch FROM now() - interval '8 months' + g * interval '7 months' / %d)
                                              * 1000)::bigint - 946684800000) << 22) | g AS id) i""".formatted(CONVERSATIONS, CONVERSATIONS));
            s.execute("""
                    INSERT INTO conversations (app_id, conversation_id, user_id, character_id, activity_id,
                                               created_at, last_activity_at, updated_at)
                    SELECT 1, id, 1, %d, id, parley_id_time(id), parley_id_time(id), now()
                      FROM (SELECT (((extract(epoch FROM now() - interval '4 months') * 1000)::bigint - 946684800000) << 22)
                                   | %d AS id) i""".formatted(BUSY_CHARACTER, HEAVY_MARK));
            String regular = "c.conversation_id & 4194303 <> " + HEAVY_MARK;
            String theHeavyOne = "c.conversation_id & 4194303 = " + HEAVY_MARK;
            insertMessages(s, regular, MESSAGES_PER_CONVERSATION, "c.created_at", "now() - interval '3 hours'",
                    "(c.conversation_id & 65535) * 32 + k", 0);
            insertMessages(s, theHeavyOne, HEAVY_MESSAGES, "c.created_at", "now() - interval '3 hours'", "4000000 + k % 100000", 0);
            // Recent messages, whatever the day: 2,000 chats and the heavy one busy. They lie three to six hours back,
            // not in the last three: insertMessages splices "now() - interval '3 hours'" into its spread unbracketed,
            // so the spread runs backwards from three hours ago. The plan tests below were written against this layout
            // (on the first of a month the newest partition is empty); a window meant to hold these rows asks for them
            // there.
            insertMessages(s, regular + " AND c.conversation_id & 4194303 <= 2000", 10, "now() - interval '3 hours'", "now()",
                    "(c.conversation_id & 65535) * 32 + 20 + k", MESSAGES_PER_CONVERSATION);
            insertMessages(s, theHeavyOne, 2_000, "now() - interval '3 hours'", "now()", "4100000 + k", HEAVY_MESSAGES);
            PlanData.pointConversationsAtTheirLastMessages(s);
            s.execute("ANALYZE");
            try (var rows = s.executeQuery("SELECT conversation_id FROM conversations WHERE conversation_id & 4194303 = " + HEAVY_MARK)) {
                rows.next();
                heavy = rows.getLong(1);
            }
        }
        heavyNewest = database.read(handle -> MessageLog.newestId(handle, APP, heavy));
    }

    /** Messages 1..n of the conversations matching {@code which}, spread evenly between {@code from} and {@code to}. */
    private static void insertMessages(java.sql.Statement s, String which, int n, String from, String to, String lowBits,
                                       int seqBefore) throws SQLException {
        s.execute("""
                INSERT INTO messages (app_id, conversation_id, user_id, message_id, seq, author_user_id, author_character_id,
                                      created_at, role, content, metadata, attachments)
                SELECT 1, c.conversation_id, c.user_id, m.id, %6$d + k,
                       CASE WHEN k %% 2 = 1 THEN c.user_id END, CASE WHEN k %% 2 = 0 THEN c.character_id END,
                       parley_id_time(m.id), CASE WHEN k %% 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || k,
                       CASE WHEN k %% 2 = 1 THEN jsonb_build_object('telegram_message_id', 1000 + %6$d + k)
                            ELSE jsonb_build_object('type', CASE WHEN k %% 10 = 0 THEN 'image' ELSE 'text' END,
                                                    'model', 'model-' || k %% 4) END,
                       CASE WHEN k %% 20 = 1 THEN '[{"url": "https://cdn.example/1.jpg"}]'::jsonb END
                  FROM conversations c, generate_series(1, %1$d) k,
                       LATERAL (SELECT (((extract(epoch FROM %2$s + (%3$s - %2$s) * k / %7$d.0)
                                          * 1000)::bigint - 946684800000) << 22) | (%4$s) AS id) m
                 WHERE %5$s""".formatted(n, from, to, lowBits, which, seqBefore, n + 1));
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
        database.close();
    }

    @Test
    void the_dataset_is_realistic_enough_to_plan_against() throws SQLException {
        try (var s = connection.createStatement(); var rows = s.executeQuery("""
                SELECT count(*), count(DISTINCT tableoid), count(*) FILTER (WHERE metadata @> '{"telegram_message_id": 1003}')
                  FROM messages""")) {
            rows.next();
            assertThat(rows.getLong(1)).isGreaterThanOrEqualTo(200_000);
            assertThat(rows.getInt(2)).as("monthly partitions holding messages").isGreaterThanOrEqualTo(6);
            assertThat(rows.getLong(3)).as("one telegram id in every conversation").isGreaterThan(CONVERSATIONS);
        }
    }

    @Test
    void metadata_containment_intersects_the_conversation_with_the_key_in_the_facets_index() throws SQLException {
        var filter = filter(Map.of("telegram_message_id", 1003), null, null);
        String plan = explainFiltered(filter, heavy, heavyNewest);

        assertThat(plan).contains("Bitmap Index Scan on messages_y").contains("parley_message_facets_idx")
                .doesNotContain("Seq Scan");
        assertThat(returned(plan)).as(plan).isEqualTo(1);
        assertThat(indexRows(plan)).as("the index hands over the one match, not the app's 10,000 telegram ids: " + plan)
                .isLessThanOrEqualTo(1);
    }

    @Test
    void a_metadata_filter_with_a_time_range_plans_only_the_partitions_of_the_range() throws SQLException {
        Instant since = Instant.now().minus(Duration.ofDays(20));
        var filter = filter(Map.of("type", "image"), since, null);
        long lower = filter.lowerBound(heavy);
        String plan = explainFiltered(filter, heavy, heavyNewest);
        String generic = explainGenericFiltered(filter, heavy, heavyNewest);

        assertThat(plan).contains("parley_message_facets_idx").doesNotContain("Seq Scan");
        assertThat(planned(plan)).as(plan).isNotEmpty().allSatisfy(partition ->
                assertThat(monthsBetween(lower, heavyNewest)).contains(partition));
        assertThat(generic).as("a generic plan drops them at executor start").contains("Subplans Removed");
        assertThat(read(generic)).allSatisfy(partition -> assertThat(monthsBetween(lower, heavyNewest)).contains(partition));
    }

    @Test
    void in_a_short_conversation_a_metadata_filter_walks_the_primary_key_and_stops_at_the_page() throws SQLException {
        long shortOne = conversationStartedMonthsAgo(2);
        long newest = database.read(handle -> MessageLog.newestId(handle, APP, shortOne));
        var filter = filter(Map.of("type", "text"), null, null);
        var conditions = filter.conditions(shortOne);
        String plan = plans.explain(MessageLog.filtered(conditions, false, true),
                MessageLog.bind(APP, shortOne, shortOne, newest, conditions, 5));

        assertThat(plan).as(plan).contains("Index Scan Backward using messages_y").contains("_pkey")
                .doesNotContain("Seq Scan").doesNotContain("Sort");
        assertThat(returned(plan)).isEqualTo(5);
    }

    private static long conversationStartedMonthsAgo(int months) throws SQLException {
        try (var s = connection.createStatement(); var rows = s.executeQuery("""
                SELECT conversation_id FROM conversations WHERE created_at < now() - interval '%d months'
                 ORDER BY conversation_id DESC LIMIT 1""".formatted(months))) {
            rows.next();
            return rows.getLong(1);
        }
    }

    @Test
    void the_unfiltered_history_stays_on_the_primary_key_beside_the_new_indexes() throws SQLException {
        for (long conversation : List.of(heavy, conversationStartedMonthsAgo(3))) {
            long newest = database.read(handle -> MessageLog.newestId(handle, APP, conversation));
            long windowStart = MessageLog.windowStart(conversation, newest);
            for (String plan : List.of(plans.explain(MessageLog.RECENT, APP, conversation, windowStart, newest, PAGE),
                    plans.explain(MessageLog.OLDER, APP, conversation, conversation, windowStart, PAGE))) {
                Matcher scans = Pattern.compile("Scan(?: Backward)? using (\\S+) on messages_\\w+ \\S+ \\(actual rows=(\\d+)").matcher(plan);
                while (scans.find()) {
                    if (Long.parseLong(scans.group(2)) > 0) {
                        assertThat(scans.group(1)).as(plan).endsWith("_pkey");
                    }
                }
                assertThat(plan).doesNotContain("Seq Scan");
            }
        }
    }

    @Test
    void attachments_are_found_through_their_partial_index() throws SQLException {
        var filter = new MessageFilter(null, null, null, null, true, null, null);
        String plan = explainFiltered(filter, heavy, heavyNewest);

        assertThat(plan).contains("app_id_conversation_id_message_id_idx").doesNotContain("Seq Scan").doesNotContain("Sort");
        assertThat(returned(plan)).isEqualTo(PAGE);
    }

    @Test
    void role_and_user_author_ride_the_primary_keys_newest_first_walk() throws SQLException {
        for (var filter : List.of(new MessageFilter("assistant", null, null, null, null, null, null),
                new MessageFilter(null, null, 1L, null, false, null, null))) {
            String plan = explainFiltered(filter, heavy, heavyNewest);

            assertThat(plan).as(plan).contains("Index Scan Backward using messages_y").contains("_pkey")
                    .doesNotContain("Seq Scan").doesNotContain("Sort");
            assertThat(returned(plan)).isEqualTo(PAGE);
            assertThat(read(plan)).as("the newest partition holds the page: " + plan).hasSize(1);
        }
    }

    @Test
    void a_character_author_filter_is_served_by_an_index() throws SQLException {
        var filter = new MessageFilter(null, BUSY_CHARACTER, null, null, null, null, null);
        String plan = explainFiltered(filter, heavy, heavyNewest);

        assertThat(plan).as(plan).contains("Index Scan Backward using messages_y").doesNotContain("Seq Scan").doesNotContain("Sort");
        assertThat(returned(plan)).isEqualTo(PAGE);
    }

    @Test
    void a_characters_latest_page_plans_only_the_months_of_its_first_look() throws SQLException {
        long newest = CharacterMessages.newestPossible(Clock.systemUTC());
        long floor = database.read(handle -> CharacterMessages.creationFloor(handle, APP, BUSY_CHARACTER));
        long windowStart = CharacterMessages.windowStart(floor, newest);
        String plan = plans.explain(CharacterMessages.RECENT, APP, BUSY_CHARACTER, windowStart, newest, PAGE);

        assertThat(plan).contains("Index Scan Backward using messages_y").contains("author_character_id_message_id_idx")
                .doesNotContain("Sort").doesNotContain("Seq Scan");
        assertThat(planned(plan)).as(plan).isNotEmpty().hasSizeLessThanOrEqualTo(3)
                .allSatisfy(partition -> assertThat(monthsBetween(windowStart, newest)).contains(partition));
        assertThat(returned(plan)).isEqualTo(PAGE);
    }

    @Test
    void a_characters_archived_messages_are_read_through_the_archives_index_by_character() throws SQLException {
        YearMonth month = YearMonth.now(ZoneOffset.UTC).minusMonths(2); // whole, and in the busy character's months
        try (var s = connection.createStatement()) {
            ArchiveCopies.copyIntoArchive(s, month);
        }
        long floor = database.read(handle -> CharacterMessages.creationFloor(handle, APP, BUSY_CHARACTER));

        String plan = plans.explain(CharacterMessages.ARCHIVED, APP, BUSY_CHARACTER, floor, Partitions.floorOf(month.plusMonths(1)), PAGE);

        assertThat(plan).as(plan).contains("Index Scan Backward using").contains("author_character_id_message_id_idx")
                .doesNotContain("Sort").doesNotContain("Seq Scan");
        assertThat(returned(plan)).isEqualTo(PAGE);
    }

    @Test
    void a_filtered_page_of_archived_months_walks_the_archives_primary_key_in_the_conversations_months() throws SQLException {
        YearMonth month = YearMonth.now(ZoneOffset.UTC).minusMonths(2); // whole, and in the heavy conversation's months
        try (var s = connection.createStatement()) {
            ArchiveCopies.copyIntoArchive(s, month);
        }
        var conditions = new MessageFilter("assistant", null, null, null, null, null, null).conditions(heavy);

        String plan = plans.explain(MessageLog.filteredArchived(conditions, true),
                MessageLog.bind(APP, heavy, heavy, Partitions.floorOf(month.plusMonths(1)) - 1, conditions, PAGE));

        assertThat(plan).as(plan).contains("Index Scan Backward using").contains("_pkey")
                .doesNotContain("Sort").doesNotContain("Seq Scan");
        assertThat(returned(plan)).isEqualTo(PAGE);
    }

    @Test
    void reaching_back_through_a_characters_history_stops_at_the_partitions_holding_the_page() throws SQLException {
        long floor = database.read(handle -> CharacterMessages.creationFloor(handle, APP, BUSY_CHARACTER));
        long cursor = Ids.floorOf(Instant.now().minus(Duration.ofDays(60)));
        String plan = plans.explain(CharacterMessages.OLDER, APP, BUSY_CHARACTER, floor, cursor, PAGE);

        assertThat(plan).contains("author_character_id_message_id_idx").doesNotContain("Sort").doesNotContain("Seq Scan");
        assertThat(read(plan)).as(plan).hasSizeLessThanOrEqualTo(2);
        assertThat(plan).as("older partitions are never read").contains("never executed");
        assertThat(planned(plan)).doesNotContain(Partitions.AFTER);
    }

    @Test
    void the_page_the_character_walk_returns_is_what_one_unbounded_query_would() throws SQLException {
        long floor = database.read(handle -> CharacterMessages.creationFloor(handle, APP, BUSY_CHARACTER));
        long newest = CharacterMessages.newestPossible(Clock.systemUTC());
        for (long upTo : new long[] {newest, Ids.floorOf(Instant.now().minus(Duration.ofDays(45)))}) {
            List<Long> walked = database.read(handle -> CharacterMessages.newestFirst(handle, APP, BUSY_CHARACTER, floor, upTo, PAGE))
                    .stream().map(Message::id).toList();
            List<Long> unbounded = database.read(handle -> handle.list(CharacterMessages.OLDER, row -> row.getLong("message_id"),
                    APP, BUSY_CHARACTER, Long.MIN_VALUE, upTo, PAGE));
            assertThat(walked).hasSize(PAGE).isEqualTo(unbounded);
        }
    }

    @Test
    void a_characters_hour_is_an_index_only_count_over_the_newest_partitions() throws SQLException {
        long since = Ids.floorOf(Instant.now().minus(Duration.ofHours(1)));
        long newest = CharacterMessages.newestPossible(Clock.systemUTC());
        assertCountReadsOnlyTheWindowsMonths(WindowCounts.CHARACTER, since, newest, APP, BUSY_CHARACTER, since, newest);
        // An hour of the dataset's busy recent hours (three to six back), whatever the date and time: read through the
        // index. An hour in the last three held no rows, and the plan chosen for it then depended on the time of day.
        Instant now = Instant.now();
        assertThat(plans.explain(WindowCounts.CHARACTER, APP, BUSY_CHARACTER, Ids.floorOf(now.minus(Duration.ofMinutes(300))),
                Ids.floorOf(now.minus(Duration.ofMinutes(240))))).contains("Index Only Scan using messages_y")
                .contains("author_character_id_message_id_idx").doesNotContain("Seq Scan");
    }

    @Test
    void an_apps_minute_is_an_index_only_count_over_the_newest_partitions() throws SQLException {
        long since = Ids.floorOf(Instant.now().minus(Duration.ofMinutes(1)));
        long newest = CharacterMessages.newestPossible(Clock.systemUTC());
        assertCountReadsOnlyTheWindowsMonths(WindowCounts.APP, since, newest, APP, since, newest);
        // A minute of the dataset's busy recent hours (three to six back), whatever the date: read through the index.
        Instant now = Instant.now();
        assertThat(plans.explain(WindowCounts.APP, APP, Ids.floorOf(now.minus(Duration.ofMinutes(270))),
                Ids.floorOf(now.minus(Duration.ofMinutes(269))))).contains("Index Only Scan using messages_y")
                .contains("_app_id_message_id_idx").doesNotContain("Seq Scan");
    }

    @Test
    void a_conversations_kinds_in_a_window_read_its_primary_key_in_the_windows_partitions() throws SQLException {
        long since = Ids.floorOf(Instant.now().minus(Duration.ofDays(1)));
        long newest = CharacterMessages.newestPossible(Clock.systemUTC());
        NamedQuery.Binding kinds = WindowCounts.CONVERSATION.bind("app_id", APP).bind("conversation_id", heavy).bind("from_id", since)
                .bind("to_id", newest);
        String plan = plans.explain(kinds.query(), kinds.arguments());

        assertThat(plan).containsAnyOf("Index Scan using messages_y", "Bitmap Index Scan on messages_y").contains("_pkey");
        assertSeqScansOnlyOfEmptyPartitions(plan);
        assertThat(planned(plan)).as(plan).isNotEmpty().allSatisfy(partition ->
                assertThat(monthsBetween(since, newest)).contains(partition));
    }

    /**
     * A window count over ids [since, newest], custom-planned, plans only the window's months; custom
     * and generic, it reads no partition that holds rows in full; generic, it prunes the rest at start.
     */
    private static void assertCountReadsOnlyTheWindowsMonths(Query count, long since, long newest, Object... args)
            throws SQLException {
        String plan = plans.explain(count, args);
        String generic = plans.explainGeneric(count, args);

        assertSeqScansOnlyOfEmptyPartitions(plan);
        assertThat(planned(plan)).as(plan).isNotEmpty().allSatisfy(partition ->
                assertThat(monthsBetween(since, newest)).contains(partition));
        assertSeqScansOnlyOfEmptyPartitions(generic);
        assertThat(generic).contains("Subplans Removed");
    }

    private static MessageFilter filter(Map<String, Object> metadata, Instant after, Instant before) {
        return new MessageFilter(null, null, null, Json.MAPPER.valueToTree(metadata), null, after, before);
    }

    /** The newest-first page MessageLog.filtered reads, explained with the bounds it computes. */
    private static String explainFiltered(MessageFilter filter, long conversation, long newest) throws SQLException {
        var conditions = filter.conditions(conversation);
        return plans.explain(MessageLog.filtered(conditions, filter.metadata() != null, true),
                MessageLog.bind(APP, conversation, filter.lowerBound(conversation), filter.upperBound(newest), conditions, PAGE));
    }

    private static String explainGenericFiltered(MessageFilter filter, long conversation, long newest) throws SQLException {
        var conditions = filter.conditions(conversation);
        Object[] values = MessageLog.bind(APP, conversation, filter.lowerBound(conversation), filter.upperBound(newest), conditions, PAGE);
        return plans.explainGeneric(MessageLog.filtered(conditions, filter.metadata() != null, true), values);
    }

    private static YearMonth monthOf(long id) {
        return YearMonth.from(Ids.timeOf(id).atZone(ZoneOffset.UTC));
    }

    /** The monthly partitions that hold ids in [lower, upper]. */
    private static List<String> monthsBetween(long lower, long upper) {
        List<String> months = new ArrayList<>();
        for (YearMonth month = monthOf(lower); !month.isAfter(monthOf(upper)); month = month.plusMonths(1)) {
            months.add(Partitions.nameOf(month));
        }
        return months;
    }

    private static final Pattern PLANNED = Pattern.compile(" on (messages_(?:y\\d{4}m\\d{2}|before|after)) ");

    /** Every message partition in a plan, executed or not. */
    private static List<String> planned(String plan) {
        return PLANNED.matcher(plan).results().map(m -> m.group(1)).distinct().toList();
    }

    private static final Pattern READ = Pattern.compile(
            "(?:Scan(?: Backward)?)(?: using \\S+)? on (messages_\\w+) \\S+ \\(actual rows=(\\d+)");

    /** The partitions a plan read rows from. */
    private static List<String> read(String plan) {
        List<String> partitions = new ArrayList<>();
        Matcher m = READ.matcher(plan);
        while (m.find()) {
            if (Long.parseLong(m.group(2)) > 0 && !partitions.contains(m.group(1))) {
                partitions.add(m.group(1));
            }
        }
        return partitions;
    }

    /** The rows the plan's top node returned. */
    private static long returned(String plan) {
        Matcher m = Pattern.compile("actual rows=(\\d+)").matcher(plan);
        assertThat(m.find()).as(plan).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** The most rows any bitmap index scan of the plan handed over. */
    private static long indexRows(String plan) {
        return Pattern.compile("Bitmap Index Scan on \\S+ \\(actual rows=(\\d+)").matcher(plan).results()
                .mapToLong(m -> Long.parseLong(m.group(1))).max().orElse(0);
    }

    /**
     * A window that ends minutes into a new month reaches that month's partition, which holds (almost)
     * nothing yet and whose statistics say so: reading its few pages whole is the cheapest plan there,
     * and what the first minutes of every month run. Every partition holding rows of the window must
     * be read through an index, and a window inside the dataset's busy last hours is.
     */
    private static void assertSeqScansOnlyOfEmptyPartitions(String plan) {
        plan.lines().filter(line -> line.contains("Seq Scan")).forEach(line ->
                assertThat(line).as(plan).contains("(actual rows=0 "));
    }
}
