package dev.parley.search;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.chat.NotFound;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.db.Ids;
import dev.parley.db.RowMapper;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Full-text search over messages: one conversation's, one user's (all their conversations) or the
 * whole app's. Words are matched by the GIN index on (user_id, to_tsvector(language, content));
 * hits come ranked by relevance (ts_rank_cd) or newest first, with a highlighted snippet made only
 * for the rows returned.
 */
public final class MessageSearch {
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
    }

    public record Hit(@JsonFormat(shape = JsonFormat.Shape.STRING) long messageId,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
                      long seq, String role,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) Long userId,
                      @JsonFormat(shape = JsonFormat.Shape.STRING) Long characterId,
                      float rank, String snippet, Instant createdAt) {
    }

    // %1$s narrows the scope, %2$s and %3$s are the keyset filter and the order.
    private static final String SEARCH = """
            SELECT hit.*, ts_headline(hit.language, hit.content, websearch_to_tsquery(?::regconfig, ?), '%4$s') AS snippet
              FROM (SELECT m.conversation_id, m.message_id, m.seq, m.role, m.author_user_id, m.author_character_id,
                           m.language, m.content,
                           ts_rank_cd(to_tsvector(m.language, m.content), websearch_to_tsquery(?::regconfig, ?)) AS rank
                      FROM messages m
                     WHERE to_tsvector(m.language, m.content) @@ websearch_to_tsquery(?::regconfig, ?)
                       AND m.app_id = ? AND m.deleted_at IS NULL %1$s
                    OFFSET 0) hit -- a fence: the keyset filter must not be pushed down, or each rank is computed twice
             WHERE %2$s
             ORDER BY %3$s
             LIMIT ?""";
    public static final String HEADLINE = "MaxFragments=2, MaxWords=24, MinWords=8, StartSel=<mark>, StopSel=</mark>";
    private static final String BY_RANK = "(hit.rank, hit.message_id) < (?::real, ?)";
    private static final String BY_TIME = "hit.message_id < ?";

    static final Query APP_BY_RANK = search("search.messages_app", "", BY_RANK, "hit.rank DESC, hit.message_id DESC");
    static final Query APP_BY_TIME = search("search.messages_app_recent", "", BY_TIME, "hit.message_id DESC");
    static final Query USER_BY_RANK = search("search.messages_user", "AND m.user_id = ?", BY_RANK,
            "hit.rank DESC, hit.message_id DESC");
    static final Query USER_BY_TIME = search("search.messages_user_recent", "AND m.user_id = ?", BY_TIME,
            "hit.message_id DESC");
    static final Query CONVERSATION_BY_RANK = search("search.messages_conversation",
            "AND m.user_id = ? AND m.conversation_id = ?", BY_RANK, "hit.rank DESC, hit.message_id DESC");
    static final Query CONVERSATION_BY_TIME = search("search.messages_conversation_recent",
            "AND m.user_id = ? AND m.conversation_id = ?", BY_TIME, "hit.message_id DESC");

    static final Query USER_EXISTS = new Query("search.user_exists", """
            SELECT EXISTS (SELECT 1 FROM users WHERE app_id = ? AND user_id = ?)""");
    static final Query CONVERSATION_OWNER = new Query("search.conversation_owner", """
            SELECT user_id, language::text FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    private static Query search(String name, String scope, String keyset, String order) {
        return new Query(name, SEARCH.formatted(scope, keyset, order, HEADLINE));
    }

    static final RowMapper<Hit> ROW = row -> {
        long messageId = row.getLong("message_id");
        return new Hit(messageId, row.getLong("conversation_id"), row.getLong("seq"), row.getString("role"),
                (Long) row.getObject("author_user_id"), (Long) row.getObject("author_character_id"),
                row.getFloat("rank"), row.getString("snippet"), Ids.timeOf(messageId));
    };

    private final Database database;

    public MessageSearch(Database database) {
        this.database = database;
    }

    /**
     * Hits for {@code text} (web-search syntax: words, "a phrase", -not, or) parsed with {@code language};
     * a null language means the conversation's own, or english for wider scopes.
     */
    public List<Hit> search(long appId, Scope scope, String text, String language, Order order, After after, int limit) {
        return database.read(h -> switch (scope) {
            case Scope.App app -> run(h, order == Order.RECENT ? APP_BY_TIME : APP_BY_RANK,
                    language(language, null), text, appId, List.of(), order, after, limit);
            case Scope.User user -> {
                requireUser(h, appId, user.userId());
                yield run(h, order == Order.RECENT ? USER_BY_TIME : USER_BY_RANK,
                        language(language, null), text, appId, List.of(user.userId()), order, after, limit);
            }
            case Scope.Conversation conversation -> {
                Object[] owner = h.first(CONVERSATION_OWNER, row -> new Object[] {row.getLong(1), row.getString(2)},
                        appId, conversation.conversationId()).orElseThrow(() -> new NotFound("conversation", conversation.conversationId()));
                yield run(h, order == Order.RECENT ? CONVERSATION_BY_TIME : CONVERSATION_BY_RANK,
                        language(language, (String) owner[1]), text, appId, List.of(owner[0], conversation.conversationId()),
                        order, after, limit);
            }
        });
    }

    private static List<Hit> run(Handle h, Query query, String language, String text, long appId, List<Object> scope,
                                 Order order, After after, int limit) throws SQLException {
        var args = new ArrayList<Object>(List.of(language, text, language, text, language, text, appId));
        args.addAll(scope);
        if (order == Order.RELEVANCE) {
            args.add(after.rank());
        }
        args.add(after.messageId());
        args.add(limit);
        return h.list(query, ROW, args.toArray());
    }

    private static String language(String asked, String conversations) {
        return asked != null ? asked : conversations != null ? conversations : Languages.DEFAULT;
    }

    private static void requireUser(Handle h, long appId, long userId) throws SQLException {
        if (!h.first(USER_EXISTS, row -> row.getBoolean(1), appId, userId).orElseThrow()) {
            throw new NotFound("user", userId);
        }
    }
}
