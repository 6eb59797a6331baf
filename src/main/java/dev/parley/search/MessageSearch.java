package dev.parley.search;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.NotFound;
import dev.parley.chat.Users;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Full-text search over messages: one conversation's, one user's (all their conversations) or the
 * whole app's, through the GIN index on {@code parley_message_words}: the words, and the scope as
 * a token ({@code ~u:7}) the query requires along with them.
 *
 * <p>Work is bounded however common the words: matches are gathered newest first, a week at a
 * time and then in wider windows (each window keeps the scan to the partitions it spans), until
 * {@link #CANDIDATES} are found. Newest-first results are pages of those; relevance ranks the
 * {@link #CANDIDATES} newest matches by ts_rank_cd. A rare word reaches back through all history;
 * a word in every tenth message of a heavy user is judged among its recent uses, as chat search
 * usually is. Highlighted snippets are made for the returned rows only.
 */
public final class MessageSearch {
    /** How many of the newest matches relevance ranks. */
    public static final int CANDIDATES = 200;
    private static final List<Duration> WINDOWS = List.of(Duration.ofDays(7), Duration.ofDays(35), Duration.ofDays(365));

    /** How hits are ordered; both page with a keyset cursor of (rank, message id). */
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

        boolean admits(Hit hit) {
            return hit.rank() < rank || hit.rank() == rank && hit.messageId() < messageId;
        }
    }

    public record Hit(@JsonFormat(shape = JsonFormat.Shape.STRING) long messageId,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
                      long seq, String role,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) Long userId,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) Long characterId,
                      float rank, String snippet, Instant createdAt) {
        Hit withSnippet(String text) {
            return new Hit(messageId, conversationId, seq, role, userId, characterId, rank, text, createdAt);
        }
    }

    // The words and the scope's token must both match, and the token is the scope: '~u:7' is on
    // user 7's messages only, and user 7 was found in this app first. A query of stop words alone
    // ("the") matches nothing rather than the whole scope. The rank is computed above the sort, for
    // the rows the LIMIT keeps.
    private static final String MATCHES = """
            SELECT m.conversation_id, m.message_id, m.seq, m.role, m.author_user_id, m.author_character_id,
                   ts_rank_cd(to_tsvector(m.language, m.content), websearch_to_tsquery(?::regconfig, ?)) AS rank
              FROM messages m
             WHERE parley_message_words(m.language, m.content, m.app_id, m.user_id, m.conversation_id)
                   @@ (websearch_to_tsquery(?::regconfig, ?) && ?::tsquery)
               AND numnode(websearch_to_tsquery(?::regconfig, ?)) > 0
               AND m.deleted_at IS NULL
               AND m.message_id >= ? AND m.message_id < ?
             ORDER BY m.message_id DESC
             LIMIT ?""";
    static final Query MATCHES_APP = new Query("search.messages_app", MATCHES);
    static final Query MATCHES_USER = new Query("search.messages_user", MATCHES);
    static final Query MATCHES_CONVERSATION = new Query("search.messages_conversation", MATCHES);

    public static final String HEADLINE = "MaxFragments=2, MaxWords=24, MinWords=8, StartSel=<mark>, StopSel=</mark>";
    static final Query SNIPPETS = new Query("search.snippets", """
            SELECT m.message_id, ts_headline(m.language, m.content, websearch_to_tsquery(?::regconfig, ?), '%s')
              FROM unnest(?::bigint[], ?::bigint[]) AS k(conversation_id, message_id)
              JOIN messages m ON m.app_id = ? AND m.conversation_id = k.conversation_id AND m.message_id = k.message_id"""
            .formatted(HEADLINE));

    // For this transaction: plans made for the words and window at hand (a generic plan, which
    // pgjdbc's server-side statements get after five uses, may read the window through the primary
    // key, every row of it), and no parallel workers (each is a new process whose catalog cache
    // starts cold: over forty partitions they made searches slower, never faster). docs/operations.md
    static final Query SETTINGS = new Query("search.settings", """
            SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
                   set_config('max_parallel_workers_per_gather', '0', true)""");

    // The ids a scope's messages can have: none older than its first conversation, none newer than
    // its last activity. An inactive user's windows start at their last message, not at today.
    static final Query USER_SPAN = new Query("search.user_span", """
            SELECT min(conversation_id), max(activity_id) FROM conversations WHERE app_id = ? AND user_id = ?""");
    static final Query CONVERSATION_SPAN = new Query("search.conversation_span", """
            SELECT conversation_id, activity_id, language::text FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    /**
     * One search as run: its statement (one SQL, named per scope for the metrics), the scope's token
     * ({@code '~u:7'}), and the span of ids its messages can have (ceiling exclusive).
     */
    record Plan(Query query, String language, String text, long appId, String token, long floorId, long ceilingId) {
        /** The statement's arguments for the newest {@code limit} matches in one window. */
        Object[] arguments(Window window, int limit) {
            return new Object[] {language, text, language, text, token, language, text, window.lower(), window.upper(), limit};
        }
    }

    /** Ids in [lower, upper): one statement's share of a search. */
    record Window(long lower, long upper) {
    }

    private final Database database;
    private final Clock clock;

    public MessageSearch(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
    }

    /**
     * Hits for {@code text} (web-search syntax: words, "a phrase", -not, or) parsed with {@code language};
     * a null language means the conversation's own, or english for wider scopes.
     */
    public List<Hit> search(long appId, Scope scope, String text, String language, Order order, After after, int limit) {
        return database.inTransaction(h -> {
            h.first(SETTINGS, row -> null);
            Plan plan = plan(h, appId, scope, text, language);
            List<Hit> hits = order == Order.RECENT
                    ? matches(h, plan, after.messageId(), limit)
                    : ranked(matches(h, plan, Long.MAX_VALUE, CANDIDATES), after, limit);
            return withSnippets(h, plan, hits);
        });
    }

    static Plan plan(Handle h, long appId, Scope scope, String text, String language) throws SQLException {
        return switch (scope) {
            case Scope.App app -> new Plan(MATCHES_APP, language(language, null), text, appId, token("a", appId), 0,
                    Long.MAX_VALUE);
            case Scope.User user -> {
                long[] span = h.first(USER_SPAN, row -> new long[] {row.getLong(1), row.getLong(2)}, appId, user.userId())
                        .orElseThrow();
                if (span[1] == 0) {
                    Users.require(h, appId, user.userId());
                }
                long ceiling = span[1] == 0 ? 0 : span[1] + 1; // no conversation: nothing to read
                yield new Plan(MATCHES_USER, language(language, null), text, appId, token("u", user.userId()), span[0],
                        ceiling);
            }
            case Scope.Conversation conversation -> {
                long id = conversation.conversationId();
                Object[] span = h.first(CONVERSATION_SPAN, row -> new Object[] {row.getLong(1), row.getLong(2), row.getString(3)},
                        appId, id).orElseThrow(() -> new NotFound("conversation", id));
                yield new Plan(MATCHES_CONVERSATION, language(language, (String) span[2]), text, appId, token("c", id),
                        (long) span[0], (long) span[1] + 1);
            }
        };
    }

    /** Up to {@code limit} matches older than {@code beforeId}, newest first, a widening window at a time. */
    private List<Hit> matches(Handle h, Plan plan, long beforeId, int limit) throws SQLException {
        List<Hit> found = new ArrayList<>();
        for (Window window : windows(plan.floorId(), Math.min(beforeId, plan.ceilingId()), clock.instant())) {
            if (found.size() >= limit) {
                break;
            }
            found.addAll(window(h, plan, window, limit - found.size()));
        }
        return found;
    }

    /**
     * The windows a search reads in turn over ids in [floorId, upper), newest first: the week, 35 days
     * and year before {@code upper}, then the rest. A user's or a conversation's ceiling is its last
     * activity, so its windows hang from its data. The app's search has no ceiling (its newest message
     * would take a read of all its conversations to find), so its windows hang from {@code now}; its
     * first, [now - 7 days, MAXVALUE), plans the week's one or two months, then the months made ahead
     * and messages_after: those hold no rows on any date (an id is never drawn ahead of its clock), so
     * each costs its planning and an empty scan (SearchPlanTest).
     */
    static List<Window> windows(long floorId, long upper, Instant now) {
        Instant reference = upper == Long.MAX_VALUE ? now : Ids.timeOf(upper);
        List<Window> windows = new ArrayList<>();
        for (int i = 0; i <= WINDOWS.size() && upper > floorId; i++) {
            long lower = i < WINDOWS.size() ? Math.max(floorId, Ids.floorOf(reference.minus(WINDOWS.get(i)))) : floorId;
            lower = Math.min(lower, upper);
            windows.add(new Window(lower, upper));
            upper = lower;
        }
        return windows;
    }

    /** The newest {@code limit} matches in the window. */
    private static List<Hit> window(Handle h, Plan plan, Window window, int limit) throws SQLException {
        return h.list(plan.query(), row -> {
            long messageId = row.getLong("message_id");
            return new Hit(messageId, row.getLong("conversation_id"), row.getLong("seq"), row.getString("role"),
                    (Long) row.getObject("author_user_id"), (Long) row.getObject("author_character_id"),
                    row.getFloat("rank"), null, Ids.timeOf(messageId));
        }, plan.arguments(window, limit));
    }

    private static List<Hit> ranked(List<Hit> candidates, After after, int limit) {
        return candidates.stream()
                .filter(after::admits)
                .sorted(Comparator.comparing(Hit::rank).thenComparing(Hit::messageId).reversed())
                .limit(limit)
                .toList();
    }

    private static List<Hit> withSnippets(Handle h, Plan plan, List<Hit> hits) throws SQLException {
        if (hits.isEmpty()) {
            return hits;
        }
        Map<Long, String> snippets = new HashMap<>();
        h.list(SNIPPETS, row -> snippets.put(row.getLong(1), row.getString(2)), plan.language(), plan.text(),
                h.array("bigint", hits.stream().map(Hit::conversationId).toArray(Long[]::new)),
                h.array("bigint", hits.stream().map(Hit::messageId).toArray(Long[]::new)), plan.appId());
        return hits.stream().map(hit -> hit.withSnippet(snippets.get(hit.messageId()))).toList();
    }

    /** A scope's token as a tsquery literal; built from a number, so nothing needs escaping. */
    public static String token(String kind, long id) {
        return "'~" + kind + ":" + id + "'";
    }

    private static String language(String asked, String conversations) {
        return asked != null ? asked : conversations != null ? conversations : Languages.DEFAULT;
    }
}
