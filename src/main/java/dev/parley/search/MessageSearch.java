package dev.parley.search;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.NotFound;
import dev.parley.chat.Users;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.Nullable;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Full-text search over messages: one conversation's, one user's (all their conversations and the
 * groups they joined as a guest) or the whole app's, through the GIN index on the stored {@code words}
 * column (V16): the words, and the scope as a token ({@code ~u:7}) the query requires along with them.
 *
 * <p>A search is two statements, each one round trip (the second sent with the COMMIT that ends the
 * transaction its settings live in). The first parses the words and finds the span of ids the scope's
 * messages can have. The second does the rest in one execution of a generic plan: it gathers
 * matches newest first, a heavy user's newest weeks first (by a token of the user and the week, so that
 * their common word fetches a week's matches, not a month's), then a month at a time and then in wider windows (one UNION ALL branch each,
 * pruned to the partitions the window spans at run time; a branch runs only while the LIMIT above
 * it wants rows), until {@link #CANDIDATES} are found; ranks them by ts_rank_cd on the stored words;
 * and keeps one page, whose rows {@link Snippets} highlights in Parley. A rare word reaches back through all
 * history; a word in every tenth message of a heavy user is judged among its recent uses, as chat
 * search usually is.
 *
 * <p>Generic plans, so no search is planned again, and with plain index scans off the planner has no
 * way to the rows but the words index, whatever the parameters: the scope is a token in the words,
 * not a column, so the index condition always holds the scope and the words, and the user cannot
 * fall out of it (SearchPlanTest).
 */
public final class MessageSearch {
    /** How many of the newest matches relevance ranks. */
    public static final int CANDIDATES = 200;
    /**
     * How many of the groups a user joined as a guest their search reads, the most recently active first: each adds
     * a token to every window's query, about 0.5 ms of index probes over 16 months each (docs/benchmarks.md). A group
     * beyond them is searched by its conversation_id.
     */
    public static final int GUEST_GROUPS = 50;
    /** Where the windows start, in months before the newest: that month, the one before, a year back. */
    private static final List<Integer> MONTHS_BACK = List.of(0, 1, 12);
    /**
     * How many week windows a heavy user's search reads before the months: the week of their last message
     * (or of the cursor) and the one before, each cut at a month's start (see {@link #weeks}).
     */
    private static final int WEEKS = 2;
    /**
     * From how many messages a user's search reads their newest weeks first. A week window pays when it
     * fills the candidates by itself (a heavy user's common word); otherwise it is one more probe of the
     * words index before the month's, which then fetches every match anyway. Read for every user, the
     * weeks made the 2M bench dataset's search mix about a tenth slower (docs/benchmarks.md, "Search").
     */
    static final long WEEKLY_FROM_MESSAGES = 10_000;
    /**
     * How many of a user's conversations, the most recently active, their search's span is read from. Summing
     * every conversation of the heaviest users was a tenth of a search's time in PostgreSQL on the bench's dataset,
     * where users are picked as often as they write (docs/benchmarks.md). A user with more has their newest weeks
     * read first, and no floor below their windows: the oldest window reaches the first partition, whose probes find
     * nothing before the user's first message. Either way the hits are the same, the newest matches.
     */
    static final int SPAN_CONVERSATIONS = 200;
    private static final long WEEK_MILLIS = Duration.ofDays(7).toMillis();

    /** How hits are ordered; both page with a keyset cursor of (rank, message id). Memory search takes them too (Memories). */
    public enum Order { RELEVANCE, RECENT }

    /** Which messages to search. */
    public sealed interface Scope {
        record App() implements Scope {
        }

        record User(long userId) implements Scope {
        }

        record Conversation(long conversationId) implements Scope {
        }
    }

    /** Where the next page starts: hits ranked below {@code rank}, or equal and older than {@code messageId}. */
    public record After(float rank, long messageId) {
        public static final After START = new After(Float.POSITIVE_INFINITY, Long.MAX_VALUE);
    }

    public record Hit(@JsonFormat(shape = JsonFormat.Shape.STRING) long messageId,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
                      long seq, String role,
                      @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long userId,
                      @Nullable @JsonFormat(shape = JsonFormat.Shape.STRING) Long characterId,
                      float rank, String snippet, Instant createdAt) {
        Hit withSnippet(String made) {
            return new Hit(messageId, conversationId, seq, role, userId, characterId, rank, made, createdAt);
        }
    }

    /**
     * What a search sets for its transaction: generic plans (the statement is planned once per
     * connection); no plain index scans, so that a window's range of ids, unknown when the plan is
     * made, is never read through an index it is not the first column of (a generic plan did that:
     * every row of a month filtered for the words, SearchPlanTest); and no parallel workers (each is
     * a new process whose catalog cache starts cold: over forty partitions they made searches slower,
     * never faster). docs/operations.md
     */
    static final Map<String, String> SETTINGS = new TreeMap<>(Map.of(
            "plan_cache_mode", "force_generic_plan", "enable_indexscan", "off", "max_parallel_workers_per_gather", "0"));

    // The first statement of a search sets them and parses the words: an empty query (stop words only,
    // "the") matches nothing rather than the whole scope.
    private static final String SETTINGS_AND_WORDS = "SELECT " + SETTINGS.entrySet().stream()
            .map(setting -> "set_config('%s', '%s', true), ".formatted(setting.getKey(), setting.getValue()))
            .collect(Collectors.joining()) + "websearch_to_tsquery(%s, :text)::text AS words";

    // The ids a scope's messages can have: none older than its first conversation, none newer than
    // its last activity. An inactive user's windows start at their last message, not at today. With
    // how many messages the user has, these are in the inbox index (V24), so a user's span is read from
    // it alone (an index-only scan where the visibility map allows), and from their SPAN_CONVERSATIONS
    // most recently active conversations at most: past them the span has no floor and the weeks are read first.
    static final NamedQuery APP_SPAN = NamedQuery.of("search.app_span", SETTINGS_AND_WORDS.formatted(":language::regconfig"));
    // The groups the user joined as a guest are searched with them, each by its conversation's token (a group's
    // messages carry its owner's user token), and widen the span: the GUEST_GROUPS most recently active, as each
    // token costs every partition read a probe of its words index. Whether to read weeks first stays a matter of
    // the user's own conversations.
    static final NamedQuery USER_SPAN = NamedQuery.of("search.user_span", SETTINGS_AND_WORDS.formatted(":language::regconfig") + """
            , least(own.first, groups.first), greatest(own.last, groups.last), own.weekly, groups.ids
              FROM (SELECT CASE WHEN count(*) > %1$d THEN 0 ELSE min(conversation_id) END AS first,
                           max(activity_id) AS last, count(*) > %1$d OR sum(message_count) >= %2$d AS weekly
                      FROM (SELECT conversation_id, activity_id, message_count
                              FROM conversations WHERE app_id = :app_id AND user_id = :user_id
                             ORDER BY activity_id DESC
                             LIMIT %1$d + 1) recent) own,
                   (SELECT min(conversation_id) AS first, max(activity_id) AS last,
                           array_agg(conversation_id ORDER BY conversation_id) AS ids
                      FROM (SELECT c.conversation_id, c.activity_id
                              FROM conversation_members g
                              JOIN conversations c ON c.app_id = g.app_id AND c.conversation_id = g.conversation_id
                             WHERE g.app_id = :app_id AND g.member_id = :user_id AND g.member_kind = 'user' AND g.guest
                             ORDER BY c.activity_id DESC
                             LIMIT %3$d) recent) groups""".formatted(SPAN_CONVERSATIONS, WEEKLY_FROM_MESSAGES, GUEST_GROUPS));
    static final NamedQuery CONVERSATION_SPAN = NamedQuery.of("search.conversation_span",
            SETTINGS_AND_WORDS.formatted("coalesce(:language::regconfig, language)") + """
            , conversation_id, activity_id
              FROM conversations WHERE app_id = :app_id AND conversation_id = :conversation_id""");

    // One window, its ids in [:NAME_lower, :NAME_upper): its newest matches, at most :wanted. The tsquery is the words
    // and the scope's token (:scoped, 'dog' & '~u:7') or, in a heavy user's week windows, the user-week token
    // (:weekN_scoped, 'dog' & '~u:7:w1456'). The last condition is whether the window holds any ids: an empty
    // window, [x, x), would still read the partition x falls in; a condition of parameters alone is checked
    // once, before any scan.
    private static final String WINDOW = """
            (SELECT m.conversation_id, m.message_id, m.seq, m.role, m.author_user_id, m.author_character_id,
                    m.language, m.content, m.words
               FROM messages m
              WHERE m.words @@ :%2$s::tsquery AND m.deleted_at IS NULL
                AND m.message_id >= :%1$s_lower AND m.message_id < :%1$s_upper AND :%1$s_lower < :%1$s_upper
              ORDER BY m.message_id DESC
              LIMIT :wanted)""";
    // The windows in turn (weekN, then monthN), each match ranked on its stored words as the LIMIT takes it:
    // once a row, at most :wanted (200 by relevance).
    private static final String CANDIDATE_ROWS = "SELECT *, ts_rank_cd(candidate.words, :words::tsquery) AS rank FROM (\n"
            + Stream.concat(IntStream.range(0, WEEKS).mapToObj(week -> WINDOW.formatted("week" + week, "week" + week + "_scoped")),
                            IntStream.rangeClosed(0, MONTHS_BACK.size()).mapToObj(month -> WINDOW.formatted("month" + month, "scoped")))
                    .collect(Collectors.joining("\n UNION ALL\n"))
            + "\n) candidate LIMIT :wanted";
    // Past the cursor: ranked below it, or equal and older.
    private static final String AFTER_CURSOR = "ranked.rank < :after_rank::real OR ranked.rank = :after_rank::real AND ranked.message_id < :after_id";
    private static final String HIT_COLUMNS = """
            hit.conversation_id, hit.message_id, hit.seq, hit.role, hit.author_user_id, hit.author_character_id, hit.rank,
                   hit.language::text AS language, hit.content""";

    // Relevance: the newest CANDIDATES matches, ranked; the page after the cursor, with the texts its snippets are made of.
    private static final String BY_RELEVANCE = """
            SELECT %s
              FROM (SELECT ranked.*
                      FROM (%s) ranked
                     WHERE %s
                     ORDER BY ranked.rank DESC, ranked.message_id DESC
                     LIMIT :page) hit
             ORDER BY hit.rank DESC, hit.message_id DESC""".formatted(HIT_COLUMNS, CANDIDATE_ROWS, AFTER_CURSOR);
    // Recent: the page is the newest matches older than the cursor, with their ranks and texts.
    private static final String BY_RECENCY = """
            SELECT %s
              FROM (%s) hit
             ORDER BY hit.message_id DESC""".formatted(HIT_COLUMNS, CANDIDATE_ROWS);

    // The archive (V19, Archive) keeps no stored words: its words index is built on them as computed, with
    // the same scope tokens, so an archived month is searched as a hot one is, each match's words computed
    // again for its rank. One statement over all archived months: no windows (docs/benchmarks.md: how much slower).
    private static final String WORDS_AS_COMPUTED = "parley_message_words(m.language, m.content, m.app_id, m.user_id, m.conversation_id)";
    private static final String ARCHIVED_CANDIDATE_ROWS = """
            SELECT m.conversation_id, m.message_id, m.seq, m.role, m.author_user_id, m.author_character_id, m.language, m.content,
                   ts_rank_cd(%1$s, :words::tsquery) AS rank
              FROM %2$s m
             WHERE %1$s @@ :scoped::tsquery AND m.app_id = :app_id AND m.deleted_at IS NULL AND m.message_id < :before
             ORDER BY m.message_id DESC
             LIMIT :wanted""".formatted(WORDS_AS_COMPUTED, Partitions.ARCHIVE);

    private static final String ARCHIVED_BY_RELEVANCE = """
            SELECT %s
              FROM (SELECT ranked.* FROM (%s) ranked
                     WHERE %s
                     ORDER BY ranked.rank DESC, ranked.message_id DESC
                     LIMIT :page) hit
             ORDER BY hit.rank DESC, hit.message_id DESC""".formatted(HIT_COLUMNS, ARCHIVED_CANDIDATE_ROWS, AFTER_CURSOR);
    private static final String ARCHIVED_BY_RECENCY = """
            SELECT %s FROM (%s) hit ORDER BY hit.message_id DESC""".formatted(HIT_COLUMNS, ARCHIVED_CANDIDATE_ROWS);

    static final NamedQuery ARCHIVED_BY_RELEVANCE_QUERY = NamedQuery.of("search.archived", ARCHIVED_BY_RELEVANCE);
    static final NamedQuery ARCHIVED_BY_RECENCY_QUERY = NamedQuery.of("search.archived_recent", ARCHIVED_BY_RECENCY);

    /** The archived statement bound: the words and the scope's token, as the hot one takes them. */
    static NamedQuery.Binding archived(long appId, Plan plan, Order order, After after, int limit) {
        if (order == Order.RECENT) {
            return ARCHIVED_BY_RECENCY_QUERY.bind("words", plan.words()).bind("scoped", plan.scoped()).bind("app_id", appId)
                    .bind("before", after.messageId()).bind("wanted", limit);
        }
        return ARCHIVED_BY_RELEVANCE_QUERY.bind("words", plan.words()).bind("scoped", plan.scoped()).bind("app_id", appId)
                .bind("before", Long.MAX_VALUE).bind("wanted", CANDIDATES)
                .bind("after_rank", after.rank()).bind("after_id", after.messageId()).bind("page", limit);
    }

    // Named by scope and order for the metrics.
    static final NamedQuery APP_BY_RELEVANCE = NamedQuery.of("search.messages_app", BY_RELEVANCE);
    static final NamedQuery APP_BY_RECENCY = NamedQuery.of("search.messages_app_recent", BY_RECENCY);
    static final NamedQuery USER_BY_RELEVANCE = NamedQuery.of("search.messages_user", BY_RELEVANCE);
    static final NamedQuery USER_BY_RECENCY = NamedQuery.of("search.messages_user_recent", BY_RECENCY);
    static final NamedQuery CONVERSATION_BY_RELEVANCE = NamedQuery.of("search.messages_conversation", BY_RELEVANCE);
    static final NamedQuery CONVERSATION_BY_RECENCY = NamedQuery.of("search.messages_conversation_recent", BY_RECENCY);

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = Stream.of(USER_SPAN, USER_BY_RELEVANCE, USER_BY_RECENCY, CONVERSATION_SPAN,
            CONVERSATION_BY_RELEVANCE, CONVERSATION_BY_RECENCY).map(NamedQuery::query).toList();

    static NamedQuery statement(Scope scope, Order order) {
        boolean recent = order == Order.RECENT;
        return switch (scope) {
            case Scope.App app -> recent ? APP_BY_RECENCY : APP_BY_RELEVANCE;
            case Scope.User user -> recent ? USER_BY_RECENCY : USER_BY_RELEVANCE;
            case Scope.Conversation conversation -> recent ? CONVERSATION_BY_RECENCY : CONVERSATION_BY_RELEVANCE;
        };
    }

    /**
     * One search as run: the words as parsed ({@code words}, a tsquery's text), the scope's
     * token ({@code '~u:7'}) and those of a user's guest groups ({@code '~c:9'}), the span of ids its
     * messages can have (ceiling exclusive), and whether its newest weeks are read first, each by its
     * own token ({@code '~u:7:w1456'}, or any of the groups').
     */
    record Plan(String words, String token, List<String> groupTokens, long floorId, long ceilingId, boolean weekly) {
        Plan(String words, String token, long floorId, long ceilingId, boolean weekly) {
            this(words, token, List.of(), floorId, ceilingId, weekly);
        }

        boolean matchesNothing() {
            return words.isEmpty() || ceilingId <= floorId;
        }

        /** The words and the scope: its token, or any of its tokens with a guest's groups ('dog' & ('~u:7' | '~c:9')). */
        String scoped() {
            return scoped(token);
        }

        private String scoped(String ownToken) {
            String scope = groupTokens.isEmpty() ? ownToken : "(" + ownToken + " | " + String.join(" | ", groupTokens) + ")";
            return "(" + words + ") & " + scope;
        }

        /** The scope's statement in {@code order}, bound for a page of {@code limit} hits after {@code after}. */
        NamedQuery.Binding bound(Scope scope, Order order, After after, int limit, Instant now) {
            boolean recent = order == Order.RECENT;
            long upper = recent ? Math.min(after.messageId(), ceilingId) : ceilingId;
            NamedQuery.Binding bound = statement(scope, order).bind("words", words).bind("scoped", scoped())
                    .bind("wanted", recent ? limit : CANDIDATES);
            List<Window> weeks = weeks(floorId, upper, weekly ? WEEKS : 0);
            for (int i = 0; i < weeks.size(); i++) {
                Window week = weeks.get(i);
                week.bind(bound, "week" + i).bind("week" + i + "_scoped", scoped(weekToken(token, week(week.lower()))));
            }
            List<Window> months = windows(floorId, weeks.getLast().lower(), now);
            for (int i = 0; i < months.size(); i++) {
                months.get(i).bind(bound, "month" + i);
            }
            return recent ? bound : bound.bind("after_rank", after.rank()).bind("after_id", after.messageId()).bind("page", limit);
        }
    }

    /** Ids in [lower, upper): one statement's share of a search. */
    record Window(long lower, long upper) {
        /** Binds its branch's ids, as {@code name_lower} and {@code name_upper}. */
        NamedQuery.Binding bind(NamedQuery.Binding bound, String name) {
            return bound.bind(name + "_lower", lower).bind(name + "_upper", upper);
        }
    }

    private final Database database;
    private final Clock clock;
    private final Snippets snippets;

    /** Searches {@code database}, its hits' snippets made by {@code snippets} (one per process: it caches stems). */
    public MessageSearch(Database database, Clock clock, Snippets snippets) {
        this.database = database;
        this.clock = clock;
        this.snippets = snippets;
    }

    /**
     * Hits for {@code text} (web-search syntax: words, "a phrase", -not, or) parsed with {@code language};
     * a null language means the conversation's own, or english for wider scopes.
     */
    public List<Hit> search(long appId, Scope scope, String text, String language, Order order, After after, int limit) {
        return search(appId, scope, text, language, order, after, limit, false);
    }

    /**
     * As above; with {@code includeArchived}, the archive's months too: their newest {@link #CANDIDATES} matches
     * are candidates beside the hot months' own (by relevance), or follow them (by recency).
     */
    public List<Hit> search(long appId, Scope scope, String text, String language, Order order, After after, int limit,
                            boolean includeArchived) {
        return database.inTransactionNearby(handle -> {
            Plan plan = plan(handle, appId, scope, text, language);
            if (plan.words().isEmpty()) {
                return List.of();
            }
            List<Found> hits = List.of();
            if (!plan.matchesNothing()) { // the last statement that needs the settings carries the COMMIT: the archive's, if read
                NamedQuery.Binding hot = plan.bound(scope, order, after, limit, clock.instant());
                hits = includeArchived ? handle.list(hot, FOUND) : handle.listAndCommit(hot, FOUND);
            }
            if (!includeArchived || order == Order.RECENT && hits.size() >= limit) {
                return highlighted(handle, plan, hits);
            }
            After archivedAfter = order == Order.RECENT && !hits.isEmpty()
                    ? new After(after.rank(), hits.getLast().hit().messageId()) : after;
            List<Found> archived = handle.listAndCommit(archived(appId, plan, order, archivedAfter, limit), FOUND);
            return highlighted(handle, plan, merged(hits, archived, order, limit));
        });
    }

    /** A hit as the statement gives it: without its snippet, with the text and the configuration to make it from. */
    record Found(Hit hit, Snippets.Text text) {
    }

    private static final RowMapper<Found> FOUND = row -> {
        long messageId = row.getLong("message_id");
        Hit hit = new Hit(messageId, row.getLong("conversation_id"), row.getLong("seq"), row.getString("role"),
                (Long) row.getObject("author_user_id"), (Long) row.getObject("author_character_id"),
                row.getFloat("rank"), null, Ids.timeOf(messageId));
        return new Found(hit, new Snippets.Text(row.getString("language"), row.getString("content")));
    };

    /** The page's hits with their snippets. */
    private List<Hit> highlighted(Handle handle, Plan plan, List<Found> page) throws SQLException {
        List<String> made = snippets.of(handle, plan.words(), page.stream().map(Found::text).toList());
        List<Hit> hits = new ArrayList<>(page.size());
        for (int i = 0; i < page.size(); i++) {
            hits.add(page.get(i).hit().withSnippet(made.get(i)));
        }
        return hits;
    }

    /** Hot and archived hits in the page's order, each message once (a month being archived is in both), at most {@code limit}. */
    static List<Found> merged(List<Found> hot, List<Found> archived, Order order, int limit) {
        Comparator<Found> newestFirst = Comparator.comparingLong((Found found) -> found.hit().messageId()).reversed();
        Comparator<Found> pageOrder = order == Order.RECENT ? newestFirst
                : Comparator.comparing((Found found) -> found.hit().rank(), Comparator.reverseOrder()).thenComparing(newestFirst);
        Map<Long, Found> once = new java.util.LinkedHashMap<>();
        java.util.stream.Stream.concat(hot.stream(), archived.stream()).forEach(found -> once.putIfAbsent(found.hit().messageId(), found));
        return once.values().stream().sorted(pageOrder).limit(limit).toList();
    }

    static Plan plan(Handle handle, long appId, Scope scope, String text, String language) throws SQLException {
        return switch (scope) {
            case Scope.App app -> {
                String words = handle.first(APP_SPAN.bind("language", language(language)).bind("text", text), row -> row.getString("words"))
                        .orElseThrow();
                yield new Plan(words, token("a", appId), 0, Long.MAX_VALUE, false);
            }
            case Scope.User user -> {
                Plan plan = handle.first(USER_SPAN.bind("language", language(language)).bind("text", text).bind("app_id", appId)
                        .bind("user_id", user.userId()), row -> {
                    long last = row.getLong(6);
                    long ceiling = row.wasNull() ? 0 : last + 1; // no conversation: nothing to read
                    Array groups = row.getArray(8);
                    List<String> groupTokens = groups == null ? List.of()
                            : Arrays.stream((Long[]) groups.getArray()).map(id -> token("c", id)).toList();
                    return new Plan(row.getString("words"), token("u", user.userId()), groupTokens, row.getLong(5), ceiling,
                            row.getBoolean(7));
                }).orElseThrow();
                if (plan.ceilingId() == 0) {
                    Users.require(handle, appId, user.userId());
                }
                yield plan;
            }
            case Scope.Conversation conversation -> {
                long id = conversation.conversationId();
                yield handle.first(CONVERSATION_SPAN.bind("language", language).bind("text", text).bind("app_id", appId)
                                        .bind("conversation_id", id),
                                row -> new Plan(row.getString("words"), token("c", id), row.getLong(5), row.getLong(6) + 1, false))
                        .orElseThrow(() -> new NotFound("conversation", id));
            }
        };
    }

    /**
     * The windows a search reads in turn over ids in [floorId, upper), newest first, each a whole number
     * of monthly partitions so that no partition is read twice: the month of {@code upper}'s newest id
     * (up to it), the month before, the eleven before that, then the rest; always four, the ones past
     * the floor empty. A user's or a conversation's ceiling is its last activity, so its windows hang
     * from its data. The app's search has no ceiling (its newest message would take a read of all its
     * conversations to find), so its windows hang from {@code now}; its first, [this month, MAXVALUE),
     * reaches the months made ahead and messages_after too: those hold no rows on any date (an id is
     * never drawn ahead of its clock), so each costs an empty scan (SearchPlanTest).
     */
    static List<Window> windows(long floorId, long upper, Instant now) {
        YearMonth newest = YearMonth.from((upper == Long.MAX_VALUE ? now : Ids.timeOf(upper - 1)).atZone(ZoneOffset.UTC));
        List<Window> windows = new ArrayList<>();
        for (int i = 0; i <= MONTHS_BACK.size(); i++) {
            long lower = i < MONTHS_BACK.size() ? Math.max(floorId, Partitions.floorOf(newest.minusMonths(MONTHS_BACK.get(i)))) : floorId;
            lower = Math.min(lower, upper);
            windows.add(new Window(lower, upper));
            upper = lower;
        }
        return windows;
    }

    /**
     * The week windows over ids in [floorId, upper), newest first, {@code count} of them: each from the
     * start of the week of its newest id, or of that id's month if the month began later, up to the window
     * above it; none below the floor. A window so lies in one week and one month: the week's token finds
     * exactly its matches in the one partition it reads, and on the first days of a month the first window
     * is the month's few days, no more. Always {@link #WEEKS} windows, the ones past {@code count} empty at
     * the bottom of the last, so that the month windows start where the weeks end. Weeks are those of the
     * user-week tokens (V24): 7 days of id time from 2000-01-01.
     */
    static List<Window> weeks(long floorId, long upper, int count) {
        List<Window> weeks = new ArrayList<>();
        for (int i = 0; i < WEEKS; i++) {
            long lower = upper;
            if (i < count && upper > floorId) {
                long newest = upper - 1;
                long weekFloor = Ids.floorOf(Instant.ofEpochMilli(Ids.EPOCH_MILLIS + week(newest) * WEEK_MILLIS));
                long monthFloor = Partitions.floorOf(YearMonth.from(Ids.timeOf(newest).atZone(ZoneOffset.UTC)));
                lower = Math.max(floorId, Math.max(weekFloor, monthFloor));
            }
            weeks.add(new Window(lower, upper));
            upper = lower;
        }
        return weeks;
    }

    /** The week (V24's count) an id was drawn in. */
    static long week(long id) {
        return (Ids.timeOf(id).toEpochMilli() - Ids.EPOCH_MILLIS) / WEEK_MILLIS;
    }

    /** A scope's token for one week, as a tsquery literal: {@code '~u:7'} and week 1456 give {@code '~u:7:w1456'}. */
    static String weekToken(String token, long week) {
        return token.substring(0, token.length() - 1) + ":w" + week + "'";
    }

    /** A scope's token as a tsquery literal; built from a number, so nothing needs escaping. */
    public static String token(String kind, long id) {
        return "'~" + kind + ":" + id + "'";
    }

    private static String language(String asked) {
        return asked != null ? asked : Languages.DEFAULT;
    }

    /**
     * The language a search in {@code scope} parses its words with, as far as it is known before the search: the one
     * asked, else english beyond one conversation; null in a conversation, whose own language it then is.
     */
    public static String language(Scope scope, String asked) {
        return asked != null || scope instanceof Scope.Conversation ? asked : Languages.DEFAULT;
    }
}
