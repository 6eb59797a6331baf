package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Rendered;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.db.SqlWork;
import dev.parley.json.JsonText;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Reading and changing the messages of a conversation. Appends go through {@link GroupCommit}.
 *
 * <p>Every query bounds {@code message_id} below by the conversation's id: no message is older than
 * its conversation, so the planner skips every monthly partition from before the conversation began.
 * Newest-first pages end at the conversation's last message (or the cursor), look at the {@link #WINDOW}
 * before it first, and reach further back only when that window holds too few rows: each partition
 * left in a plan costs its start-up even when the scan stops before reaching it, so "last 50" of a
 * two-year-old companion chat read 39 partitions (4,750 queries/s) where a month's window reads two
 * (13,500/s; pgbench, generic plans, 10M messages). The window hangs from the data, not from the
 * clock: the months made ahead are never planned, and a chat that went quiet months ago still finds
 * its latest page in the first look.
 */
public final class MessageLog {
    static final String COLUMNS = """
            message_id, conversation_id, seq, role, author_user_id, author_character_id, content, metadata,
            attachments, reply_to_id, edited_at, deleted_at"""; // created_at is the id's own time: no need to read it

    // The users who joined the changed message's conversation: their inboxes show its last message too.
    private static final String GUESTS = """
            ARRAY(SELECT g.member_id FROM conversation_members g
                   WHERE g.app_id = messages.app_id AND g.conversation_id = messages.conversation_id
                     AND g.member_kind = 'user' AND g.guest) AS guest_ids""";

    /** How far back a newest-first page looks first: a chat's latest page is almost always within its last month. */
    static final Duration WINDOW = Duration.ofDays(31);

    // No message is newer than last_message_id: the append that writes a message moves it in the same
    // transaction (GroupCommit), and a hard delete leaves it in place, above every remaining message.
    // An empty conversation's newest id is its own, below every message it could have.
    static final Query NEWEST_ID = new Query("conversation.newest_message_id", """
            SELECT coalesce(last_message_id, conversation_id) FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    // One statement, run under two names so /metrics shows how often a page must reach back further.
    // Its ids are (lower, upper]: the upper bound is the newest id the page may hold.
    private static final String NEWEST_FIRST = """
            SELECT %s FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id <= ?
             ORDER BY message_id DESC
             LIMIT ?""".formatted(COLUMNS);
    static final Query RECENT = new Query("message.history_recent", NEWEST_FIRST);
    static final Query OLDER = new Query("message.history_older", NEWEST_FIRST);

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(NEWEST_ID, RECENT);

    // The archive's months (V19, Archive), read only when a page goes back past the hot ones; same shapes.
    static final Query ARCHIVED_OLDER = new Query("message.history_archived", NEWEST_FIRST.replace("FROM messages",
            "FROM " + Partitions.ARCHIVE));
    static final Query ARCHIVED_AFTER = new Query("message.history_archived_after", """
            SELECT %s FROM %s
             WHERE app_id = ? AND conversation_id = ? AND message_id > ?
             ORDER BY message_id
             LIMIT ?""".formatted(COLUMNS, Partitions.ARCHIVE));
    static final Query ARCHIVED_GET = new Query("message.get_archived", """
            SELECT %s FROM %s WHERE app_id = ? AND conversation_id = ? AND message_id = ?""".formatted(COLUMNS, Partitions.ARCHIVE));

    static final NamedQuery AFTER = NamedQuery.of("message.history_after", """
            SELECT %s FROM messages
             WHERE app_id = :app_id AND conversation_id = :conversation_id
               AND message_id > :conversation_id AND message_id > :after_id
             ORDER BY message_id
             LIMIT :limit""".formatted(COLUMNS));

    // Filtered pages (MessageFilter): one statement per combination of filters, all under one name.
    // Ids are (lower, upper]; the filter's time range has already narrowed both bounds.
    private static final String FILTERED = """
            SELECT %s FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id <= ?%%s
             ORDER BY message_id %%s
             LIMIT ?""".formatted(COLUMNS);

    // In a long conversation a metadata filter finds its matches first, then pages them. PostgreSQL
    // cannot estimate how many messages contain a JSON object: left to choose, it walked a
    // 20,000-message chat newest first hoping for a match soon, or ANDed the index with the
    // conversation's whole primary-key range (MessageFiltersPlanTest). Here the only index the
    // matches can come from is messages_metadata_idx, whose entries hold the conversation: the cost
    // grows with the matches and the partitions, not with the conversation. The app and conversation
    // are checked on the matches (the values come in the same order as FILTERED's).
    private static final String FILTERED_BY_METADATA = """
            WITH asked AS (SELECT ?::bigint AS app_id, ?::bigint AS conversation_id),
            matching AS MATERIALIZED (
                SELECT app_id, %s FROM messages
                 WHERE message_id > ? AND message_id <= ?%%s)
            SELECT %s FROM matching JOIN asked USING (app_id, conversation_id)
             ORDER BY message_id %%s
             LIMIT ?""".formatted(COLUMNS, COLUMNS);

    /**
     * Up to this many messages a metadata filter walks the conversation newest first, as the other
     * filters do; above, it asks messages_metadata_idx. Walking 1,000 rows costs about what the index
     * costs in a dozen partitions (0.1 ms each), and most chats are far shorter (docs/benchmarks.md).
     */
    static final long WALK_AT_MOST = 1_000;

    static final Query SIZE = new Query("conversation.size", """
            SELECT coalesce(last_message_id, conversation_id), message_count FROM conversations
             WHERE app_id = ? AND conversation_id = ?""");

    private record Size(long newestId, long messages) {
    }

    /** A filtered page's statement: newest first (before a cursor, or the latest) or oldest first (after one). */
    static Query filtered(MessageFilter.Conditions conditions, boolean throughMetadataIndex, boolean newestFirst) {
        return new Query(throughMetadataIndex ? "message.history_by_metadata" : "message.history_filtered",
                (throughMetadataIndex ? FILTERED_BY_METADATA : FILTERED).formatted(conditions.sql(), newestFirst ? "DESC" : "ASC"));
    }

    /** The same in the archive's months (V19), whose only index on a conversation is its primary key. */
    static Query filteredArchived(MessageFilter.Conditions conditions, boolean newestFirst) {
        return new Query("message.history_filtered_archived", FILTERED.replace("FROM messages", "FROM " + Partitions.ARCHIVE)
                .formatted(conditions.sql(), newestFirst ? "DESC" : "ASC"));
    }

    static final Query GET = new Query("message.get", """
            SELECT %s FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ?""".formatted(COLUMNS));

    static final Query GET_FOR_UPDATE = new Query("message.get_for_update", """
            SELECT %s FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ? FOR UPDATE""".formatted(COLUMNS));

    // Replies come after their message: a hot message's are hot; an archived one's may be in the archive too.
    private static final String REPLIES_IN = """
            SELECT %s FROM %%s
             WHERE app_id = :app_id AND conversation_id = :conversation_id AND reply_to_id = :parent_id
               AND message_id > :parent_id AND message_id > :after_id
             ORDER BY message_id
             LIMIT :limit""".formatted(COLUMNS);
    static final NamedQuery REPLIES = NamedQuery.of("message.replies", REPLIES_IN.formatted("messages"));
    static final NamedQuery REPLIES_ARCHIVED = NamedQuery.of("message.replies_archived",
            REPLIES_IN.formatted(Partitions.ARCHIVE));

    static final Query CONVERSATION_EXISTS = new Query("conversation.exists", """
            SELECT 1 FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    static final Query EDIT = new Query("message.edit", """
            UPDATE messages
               SET content = coalesce(?, content),
                   metadata = CASE WHEN ? THEN ?::jsonb ELSE metadata END,
                   attachments = CASE WHEN ? THEN ?::jsonb ELSE attachments END,
                   edited_at = now()
             WHERE app_id = ? AND conversation_id = ? AND message_id = ? AND deleted_at IS NULL
            RETURNING %s, user_id AS owner_id, %s""".formatted(COLUMNS, GUESTS));

    // The row keeps its place (id, seq, role, author, replies to it) and gives up what it said: a reader never sees
    // a deleted message's text, metadata or attachments again, and neither an export nor the database should hold them.
    static final Query SOFT_DELETE = new Query("message.soft_delete", """
            UPDATE messages SET deleted_at = now(), content = '', metadata = NULL, attachments = NULL
             WHERE app_id = ? AND conversation_id = ? AND message_id = ? AND deleted_at IS NULL
            RETURNING %s, user_id AS owner_id, %s""".formatted(COLUMNS, GUESTS));

    static final Query HARD_DELETE = new Query("message.hard_delete", """
            DELETE FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ?
            RETURNING %s, user_id AS owner_id, %s""".formatted(COLUMNS, GUESTS));

    static final Query SET_PREVIEW = new Query("conversation.set_preview", """
            UPDATE conversations SET last_message_preview = ?, updated_at = now()
             WHERE app_id = ? AND conversation_id = ? AND last_message_id = ?""");

    // After deletes (a hard delete, erasure, retention): each conversation whose last message went shows the newest
    // message left, hot or archived, soft-deleted ones too (they keep their place, without a preview), or none.
    // Rows are (app, conversation, a removed message id): one that was not the last changes nothing. The preview is kept
    // as Preview.stored keeps it.
    static final Query REPLACE_LAST_MESSAGES = new Query("conversation.replace_last_messages", """
            UPDATE conversations c
               SET last_message_id = n.message_id, last_message_role = n.role,
                   last_message_preview = CASE WHEN n.deleted_at IS NULL THEN %s END, updated_at = now()
              FROM (SELECT gone.app_id, gone.conversation_id, gone.message_id AS gone_id, newest.*
                      FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS gone(app_id, conversation_id, message_id)
                      LEFT JOIN LATERAL (
                            SELECT message_id, role, content, deleted_at FROM (
                                (SELECT message_id, role, content, deleted_at FROM messages
                                  WHERE app_id = gone.app_id AND conversation_id = gone.conversation_id
                                  ORDER BY message_id DESC LIMIT 1)
                                UNION ALL
                                (SELECT message_id, role, content, deleted_at FROM %s
                                  WHERE app_id = gone.app_id AND conversation_id = gone.conversation_id
                                  ORDER BY message_id DESC LIMIT 1)) both_tables
                             ORDER BY message_id DESC LIMIT 1) newest ON true) n
             WHERE c.app_id = n.app_id AND c.conversation_id = n.conversation_id AND c.last_message_id = n.gone_id"""
            .formatted(Preview.storedSql("n.content"), Partitions.ARCHIVE));

    /** A message a delete removed from its conversation; if it was the last one, the conversation shows the newest left. */
    public record Removed(long appId, long conversationId, long messageId) {
        /** One app's removed messages from a statement's two parallel arrays: conversations, and the message of each. */
        public static List<Removed> of(long appId, Long[] conversationIds, Long[] messageIds) {
            var removed = new ArrayList<Removed>(conversationIds.length);
            for (int i = 0; i < conversationIds.length; i++) {
                removed.add(new Removed(appId, conversationIds[i], messageIds[i]));
            }
            return removed;
        }
    }

    // After a soft delete, in one write of the row: the message is no longer anyone's to read (unread counts leave
    // out the seqs listed, V26), and if it was the last one the conversation shows it without a preview.
    static final Query SOFT_DELETED = new Query("conversation.soft_deleted", """
            WITH gone AS (SELECT ?::bigint AS message_id, ?::bigint AS seq)
            UPDATE conversations c
               SET deleted_seqs = parley_deleted_seqs(c.deleted_seqs, ARRAY[gone.seq]),
                   last_message_preview = CASE WHEN c.last_message_id = gone.message_id THEN NULL ELSE c.last_message_preview END,
                   updated_at = CASE WHEN c.last_message_id = gone.message_id THEN now() ELSE c.updated_at END
              FROM gone
             WHERE c.app_id = ? AND c.conversation_id = ?""");

    static final Query UNCOUNT = new Query("conversation.uncount_message", """
            UPDATE conversations
               SET message_count = message_count - 1, deleted_seqs = parley_deleted_seqs(deleted_seqs, ARRAY[?::bigint]),
                   updated_at = now()
             WHERE app_id = ? AND conversation_id = ?""");

    // Oldest first from a message on, soft-deleted ones too: what an export hands over. Null author: every author.
    private static final String OLDEST_FIRST_OF = """
            SELECT %s FROM %%s
             WHERE app_id = :app_id AND conversation_id = :conversation_id AND message_id > :after_id
               AND (:author_user_id::bigint IS NULL OR author_user_id = :author_user_id)
             ORDER BY message_id
             LIMIT :limit""".formatted(COLUMNS);
    static final NamedQuery OLDEST_FIRST = NamedQuery.of("message.oldest_first", OLDEST_FIRST_OF.formatted("messages"));
    static final NamedQuery OLDEST_FIRST_ARCHIVED = NamedQuery.of("message.oldest_first_archived",
            OLDEST_FIRST_OF.formatted(Partitions.ARCHIVE));

    static final RowMapper<Message> ROW = MessageLog::map;

    // A changed message, the user whose conversation (and inbox) it is, and the guests whose inboxes list it.
    private record Changed(Message message, long ownerId, List<Long> guestIds) {
        /** The cached views the change makes stale: the conversation's, its user's and guests' inboxes. */
        List<Scope> scopes(long appId, long conversationId) {
            return ReadCache.conversationScopes(appId, conversationId, ownerId, guestIds);
        }
    }

    private static final RowMapper<Changed> CHANGED = row -> new Changed(map(row), row.getLong("owner_id"),
            List.of((Long[]) row.getArray("guest_ids").getArray()));

    private final Database database;
    private final ReadCache cache;
    private final Clock clock;

    public MessageLog(Database database, ReadCache cache, Clock clock) {
        this.database = database;
        this.cache = cache;
        this.clock = clock;
    }

    /** Which page of history to read. */
    public sealed interface Position {
        record Latest() implements Position {
        }

        record Before(long messageId) implements Position {
        }

        record After(long messageId) implements Position {
        }
    }

    /** Messages in chronological order and whether more exist on either side. */
    public record Page(List<Message> messages, boolean hasOlder, boolean hasNewer) {
    }

    public Page history(long appId, long conversationId, Position position, int limit) {
        return readNearby(position, handle -> switch (position) {
            case Position.Latest latest -> latest(handle, appId, conversationId, limit);
            case Position.Before before -> existing(handle, appId, conversationId,
                    before(handle, appId, conversationId, before.messageId(), limit));
            case Position.After after -> existing(handle, appId, conversationId,
                    after(handle, appId, conversationId, after.messageId(), limit));
        });
    }

    /**
     * A page read where replicas may serve it; one after a cursor only from a replica that holds the cursor's message
     * (its id's time), so that paging on from the latest page, which the primary serves, skips none of those between.
     */
    private <T> T readNearby(Position position, SqlWork<T> work) {
        return switch (position) {
            case Position.Latest latest -> database.readNearby(work);
            case Position.Before before -> database.readNearbyHolding(Ids.timeOf(before.messageId()), work);
            case Position.After after -> database.readNearbyHolding(Ids.timeOf(after.messageId()), work);
        };
    }

    /**
     * A page of the messages that match {@code filter}. Never cached: only the unfiltered latest page is.
     * Reads the range in one statement rather than in windows, since a filter may match nothing in the
     * last month; the filter's time range is what keeps partitions out of it. The archive's months are
     * read as an unfiltered page reads them ({@link Matches}).
     */
    public Page filtered(long appId, long conversationId, Position position, MessageFilter filter, int limit) {
        return readNearby(position, handle -> {
            Size size = handle.first(SIZE, row -> new Size(row.getLong(1), row.getLong(2)), appId, conversationId)
                    .orElseThrow(() -> new NotFound("conversation", conversationId));
            var matches = new Matches(handle, appId, conversationId, filter.conditions(conversationId),
                    filter.metadata() != null && size.messages() > WALK_AT_MOST, archivedBelow());
            long lower = filter.lowerBound(conversationId);
            long newest = size.newestId();
            return switch (position) {
                case Position.Latest latest -> page(matches.newestFirst(lower, filter.upperBound(newest), limit + 1), limit, false);
                case Position.Before before -> page(matches.newestFirst(lower,
                        filter.upperBound(Math.min(newest, before.messageId() - 1)), limit + 1), limit, true);
                case Position.After after -> {
                    List<Message> rows = matches.oldestFirst(filter.lowerBound(Math.max(conversationId, after.messageId())),
                            filter.upperBound(newest), limit + 1);
                    boolean more = rows.size() > limit;
                    List<Message> page = more ? rows.subList(0, limit) : rows;
                    // Whether a match lies below the page: the newest one there, if any (one row read). Below an empty page, the cursor's.
                    boolean older = page.isEmpty() || !matches.newestFirst(lower, filter.upperBound(page.getFirst().id() - 1), 1).isEmpty();
                    yield new Page(page, older, more);
                }
            };
        });
    }

    /**
     * No archived message has this id or a higher one: the start of the current month. An archive takes only
     * months that ended longer ago than its age, a day at least (Archive.due), so no cache is needed to know it.
     */
    private long archivedBelow() {
        return Partitions.floorOf(YearMonth.from(clock.instant().atZone(ZoneOffset.UTC)));
    }

    /**
     * One conversation's matches of one filter, in ids (lower, upper]. The archive is read only where it may hold
     * matches: never at or above {@code archivedBelow}, so a range within this month never asks it, and newest first
     * only below the hot matches, when those were too few. A month being moved is in both tables (Archive); each
     * read takes its rows from one of them only.
     */
    private record Matches(Handle handle, long appId, long conversationId, MessageFilter.Conditions conditions,
                           boolean throughMetadataIndex, long archivedBelow) {

        /** Up to {@code wanted} matches, newest first: the hot months', then, if they were too few, the archive's below them. */
        List<Message> newestFirst(long lower, long upper, int wanted) throws SQLException {
            List<Message> rows = read(filtered(conditions, throughMetadataIndex, true), lower, upper, wanted);
            if (rows.size() < wanted) {
                long belowHot = rows.isEmpty() ? upper : rows.getLast().id() - 1;
                rows.addAll(read(filteredArchived(conditions, true), lower, Math.min(belowHot, archivedBelow - 1),
                        wanted - rows.size()));
            }
            return rows;
        }

        /** Up to {@code wanted} matches, oldest first: the archive's (older than every hot month), then the hot months' after them. */
        List<Message> oldestFirst(long lower, long upper, int wanted) throws SQLException {
            List<Message> rows = read(filteredArchived(conditions, false), lower, Math.min(upper, archivedBelow - 1), wanted);
            if (rows.size() < wanted) {
                long afterArchived = rows.isEmpty() ? lower : rows.getLast().id();
                rows.addAll(read(filtered(conditions, throughMetadataIndex, false), afterArchived, upper, wanted - rows.size()));
            }
            return rows;
        }

        /** The matches in (lower, upper] in the statement's order; an empty range runs no statement. */
        private List<Message> read(Query query, long lower, long upper, int limit) throws SQLException {
            if (upper <= lower) {
                return new ArrayList<>();
            }
            return new ArrayList<>(handle.list(query, ROW, bind(appId, conversationId, lower, upper, conditions, limit)));
        }
    }

    /** A filtered statement's values: the conversation and its id range, the filter's own, the limit. */
    static Object[] bind(long appId, long conversationId, long lower, long upper, MessageFilter.Conditions conditions, int limit) {
        List<Object> values = new ArrayList<>(List.of(appId, conversationId, lower, upper));
        values.addAll(conditions.values());
        values.add(limit);
        return values.toArray();
    }

    /** The page that ends at the conversation's newest message; finding that id also finds whether the conversation exists. */
    private static Page latest(Handle handle, long appId, long conversationId, int limit) throws SQLException {
        long newestId = newestId(handle, appId, conversationId);
        List<Message> rows = newestFirst(handle, RECENT, OLDER, ROW, appId, conversationId, newestId, limit + 1);
        return page(olderFromArchive(handle, appId, conversationId, rows, newestId, limit + 1), limit, false);
    }

    private static Page before(Handle handle, long appId, long conversationId, long cursor, int limit) throws SQLException {
        long newestId = Math.max(cursor, conversationId) - 1; // a cursor at or below the conversation's id has nothing below it
        List<Message> rows = newestFirst(handle, RECENT, OLDER, ROW, appId, conversationId, newestId, limit + 1);
        return page(olderFromArchive(handle, appId, conversationId, rows, newestId, limit + 1), limit, true);
    }

    /**
     * The hot months' rows, newest first, and then, if they were too few and older messages may exist, the
     * archive's below them. Older messages may exist when the oldest row found is not the conversation's
     * first (seq 1), or when none was found below a message id the conversation has reached: which holds at
     * every step of an archive move (Archive), so no cache can make a page miss a month. A conversation
     * whose first messages were hard-deleted pays an archive query that finds nothing.
     */
    private static List<Message> olderFromArchive(Handle handle, long appId, long conversationId, List<Message> rows,
                                                  long newestId, int wanted) throws SQLException {
        boolean olderMayExist = rows.isEmpty() ? newestId > conversationId : rows.getLast().seq() > 1;
        if (rows.size() >= wanted || !olderMayExist) {
            return rows;
        }
        long upper = rows.isEmpty() ? newestId : rows.getLast().id() - 1;
        List<Message> all = new ArrayList<>(rows);
        all.addAll(handle.list(ARCHIVED_OLDER, ROW, appId, conversationId, conversationId, upper, wanted - rows.size()));
        return all;
    }

    /**
     * The page after a cursor, oldest first. The hot query starts at the cursor itself: when the cursor is
     * there, so is everything after it; when it is not (archived, or deleted), the archive's rows after it
     * come first, and the hot rows follow them (a month being moved is in both: its rows are taken once).
     */
    private static Page after(Handle handle, long appId, long conversationId, long cursor, int limit) throws SQLException {
        List<Message> hot = handle.list(AFTER.bind("app_id", appId).bind("conversation_id", conversationId)
                .bind("after_id", cursor - 1).bind("limit", limit + 2), ROW);
        List<Message> rows = new ArrayList<>();
        if (!hot.isEmpty() && hot.getFirst().id() == cursor) {
            rows.addAll(hot.subList(1, hot.size()));
        } else {
            rows.addAll(handle.list(ARCHIVED_AFTER, ROW, appId, conversationId, cursor, limit + 1));
            long newestArchived = rows.isEmpty() ? cursor : rows.getLast().id();
            hot.stream().filter(m -> m.id() > newestArchived).forEach(rows::add);
        }
        boolean more = rows.size() > limit;
        // Older messages exist below a page that does not start at the first (seq 1); below an empty one, the cursor's.
        boolean older = rows.isEmpty() || rows.getFirst().seq() > 1;
        return new Page(more ? rows.subList(0, limit) : rows, older, more);
    }

    /** The page; an empty one only if the conversation exists. */
    private static Page existing(Handle handle, long appId, long conversationId, Page page) throws SQLException {
        if (page.messages().isEmpty()) {
            requireConversation(handle, appId, conversationId);
        }
        return page;
    }

    /** The newest id a message of the conversation can have; the conversation must exist. */
    static long newestId(Handle handle, long appId, long conversationId) throws SQLException {
        return handle.first(NEWEST_ID, row -> row.getLong(1), appId, conversationId)
                .orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    /**
     * Up to {@code limit} rows with ids up to {@code newestId}, newest first: from the {@link #WINDOW}
     * before it first, then, only if that was not enough, from the rest of the conversation. Both
     * queries take the shape (app, conversation, lower bound, upper bound, limit).
     */
    public static <T> List<T> newestFirst(Handle handle, Query recent, Query older, RowMapper<T> mapper, long appId,
                                          long conversationId, long newestId, int limit) throws SQLException {
        if (newestId <= conversationId) {
            return new ArrayList<>(); // no message yet, or a cursor at the start: nothing to read
        }
        long windowStart = windowStart(conversationId, newestId);
        List<T> rows = new ArrayList<>(handle.list(recent, mapper, appId, conversationId, windowStart, newestId, limit));
        if (rows.size() < limit && windowStart > conversationId) {
            rows.addAll(handle.list(older, mapper, appId, conversationId, conversationId, windowStart, limit - rows.size()));
        }
        return rows;
    }

    /** Where the first look of a page ending at {@code newestId} starts: a {@link #WINDOW} before it, never before the conversation. */
    static long windowStart(long conversationId, long newestId) {
        return Math.max(conversationId, Ids.floorOf(Ids.timeOf(newestId).minus(WINDOW)));
    }

    private static Page page(List<Message> newestFirst, int limit, boolean hasNewer) {
        boolean more = newestFirst.size() > limit;
        List<Message> page = new ArrayList<>(more ? newestFirst.subList(0, limit) : newestFirst);
        Collections.reverse(page);
        return new Page(page, more, hasNewer);
    }

    /**
     * The conversation's messages after {@code afterId}, oldest first, archived and soft-deleted ones included: a page of an
     * export. {@code authorUserId} keeps only that person's messages; null keeps all.
     */
    public List<Message> oldestFirst(long appId, long conversationId, long afterId, Long authorUserId, int limit) {
        return database.read(handle -> {
            // The archive's months are older than every hot one; a month being moved is in both, and taken once.
            List<Message> rows = new ArrayList<>(handle.list(OLDEST_FIRST_ARCHIVED.bind("app_id", appId)
                    .bind("conversation_id", conversationId).bind("after_id", afterId).bind("author_user_id", authorUserId)
                    .bind("limit", limit), ROW));
            long after = rows.isEmpty() ? afterId : rows.getLast().id();
            if (rows.size() < limit) {
                rows.addAll(handle.list(OLDEST_FIRST.bind("app_id", appId).bind("conversation_id", conversationId)
                        .bind("after_id", after).bind("author_user_id", authorUserId).bind("limit", limit - rows.size()), ROW));
            }
            return rows;
        });
    }

    /** One message, from the hot months or, failing that, the archive. */
    public Message get(long appId, long conversationId, long messageId) {
        return database.read(handle -> handle.first(GET, ROW, appId, conversationId, messageId)
                .or(() -> archived(handle, appId, conversationId, messageId)))
                .orElseThrow(() -> new NotFound("message", messageId));
    }

    private static java.util.Optional<Message> archived(Handle handle, long appId, long conversationId, long messageId) {
        try {
            return handle.first(ARCHIVED_GET, ROW, appId, conversationId, messageId);
        } catch (SQLException e) {
            throw new dev.parley.db.DatabaseFailure(e);
        }
    }

    /**
     * Replies to one message, oldest first, after the {@code afterId} cursor. An archived message's replies are read
     * from the archive first (older than every hot month; a month being moved is in both, and taken once), then from
     * the hot months.
     */
    public List<Message> replies(long appId, long conversationId, long parentId, long afterId, int limit) {
        return database.read(handle -> {
            boolean archived = handle.first(GET, ROW, appId, conversationId, parentId).isEmpty();
            if (archived && archived(handle, appId, conversationId, parentId).isEmpty()) {
                throw new NotFound("message", parentId);
            }
            List<Message> rows = new ArrayList<>();
            if (archived) {
                rows.addAll(handle.list(REPLIES_ARCHIVED.bind("app_id", appId).bind("conversation_id", conversationId)
                        .bind("parent_id", parentId).bind("after_id", afterId).bind("limit", limit), ROW));
            }
            if (rows.size() < limit) {
                long after = rows.isEmpty() ? afterId : rows.getLast().id();
                rows.addAll(handle.list(REPLIES.bind("app_id", appId).bind("conversation_id", conversationId)
                        .bind("parent_id", parentId).bind("after_id", after).bind("limit", limit - rows.size()), ROW));
            }
            return rows;
        });
    }

    /**
     * Replaces the given parts of a message and marks it edited; a deleted message cannot be edited. With
     * {@code requiredTag}, only a message whose stored form still has that ETag (else {@link StaleVersion}).
     */
    public Message edit(long appId, long conversationId, long messageId, String requiredTag, String content,
                        boolean metadataGiven, JsonNode metadata, boolean attachmentsGiven, JsonNode attachments) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                if (requiredTag != null) {
                    requireTag(handle, appId, conversationId, messageId, requiredTag);
                }
                Changed changed = handle.first(EDIT, CHANGED, content, metadataGiven, jsonOrNull(metadata), attachmentsGiven,
                        jsonOrNull(attachments), appId, conversationId, messageId).orElseThrow(() -> missingOrDeleted(handle, appId, conversationId, messageId));
                if (content != null) {
                    handle.execute(SET_PREVIEW, Preview.stored(content), appId, conversationId, messageId);
                }
                change.mark(changed.scopes(appId, conversationId));
                return changed;
            }).message();
        }
    }

    private static void requireTag(Handle handle, long appId, long conversationId, long messageId, String requiredTag)
            throws SQLException {
        Message stored = handle.first(GET_FOR_UPDATE, ROW, appId, conversationId, messageId)
                .orElseThrow(() -> new NotFound("message", messageId));
        if (!Rendered.matches(stored, requiredTag)) {
            throw new StaleVersion("message", messageId);
        }
    }

    /**
     * Soft delete: the message keeps its place in history, without its content, and counts as unread for no one. A
     * message deleted already is answered as it is, unchanged: a client's retry of a delete whose answer it lost.
     */
    public Message softDelete(long appId, long conversationId, long messageId) {
        return softDelete(appId, conversationId, messageId, null);
    }

    /**
     * As above, only if the message's stored form has the ETag {@code requiredTag} (a DELETE's If-Match; null: whatever
     * it has), else {@link StaleVersion}. A message deleted already is still answered as it is: the tag a retry
     * holds is that of the message before the delete it repeats.
     */
    public Message softDelete(long appId, long conversationId, long messageId, String requiredTag) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                if (requiredTag != null) {
                    Message stored = handle.first(GET_FOR_UPDATE, ROW, appId, conversationId, messageId).orElse(null);
                    if (stored != null && stored.deletedAt() == null && !Rendered.matches(stored, requiredTag)) {
                        throw new StaleVersion("message", messageId);
                    }
                }
                Changed changed = handle.first(SOFT_DELETE, CHANGED, appId, conversationId, messageId).orElse(null);
                if (changed == null) {
                    return handle.first(GET, ROW, appId, conversationId, messageId).filter(m -> m.deletedAt() != null)
                            .orElseThrow(() -> missingOrDeleted(handle, appId, conversationId, messageId));
                }
                handle.execute(SOFT_DELETED, messageId, changed.message().seq(), appId, conversationId);
                change.mark(changed.scopes(appId, conversationId));
                return changed.message();
            });
        }
    }

    /**
     * Hard delete: the row is gone, and counts as unread for no one. Sequence numbers are never reused. If it was the
     * conversation's last message, the conversation (and so the inbox) shows the newest one left instead, or none.
     */
    public void hardDelete(long appId, long conversationId, long messageId) {
        hardDelete(appId, conversationId, messageId, null);
    }

    /** As above, only if the message's stored form has the ETag {@code requiredTag} (null: whatever it has), else {@link StaleVersion}. */
    public void hardDelete(long appId, long conversationId, long messageId, String requiredTag) {
        try (ReadCache.Changing change = cache.changing()) {
            database.inTransaction(handle -> {
                if (requiredTag != null) {
                    requireTag(handle, appId, conversationId, messageId, requiredTag);
                }
                Changed changed = handle.first(HARD_DELETE, CHANGED, appId, conversationId, messageId)
                        .orElseThrow(() -> missingOrDeleted(handle, appId, conversationId, messageId));
                handle.execute(UNCOUNT, changed.message().seq(), appId, conversationId);
                replaceLastMessages(handle, List.of(new Removed(appId, conversationId, messageId)));
                change.mark(changed.scopes(appId, conversationId));
                return changed;
            });
        }
    }

    /**
     * Makes each conversation whose last message is among {@code removed} show the newest message left, or none, in one
     * statement: what every path that deletes messages runs after its delete, in the same transaction.
     */
    public static void replaceLastMessages(Handle handle, List<Removed> removed) throws SQLException {
        if (removed.isEmpty()) {
            return;
        }
        handle.execute(REPLACE_LAST_MESSAGES, handle.array("bigint", removed.stream().map(Removed::appId).toArray(Long[]::new)),
                handle.array("bigint", removed.stream().map(Removed::conversationId).toArray(Long[]::new)),
                handle.array("bigint", removed.stream().map(Removed::messageId).toArray(Long[]::new)));
    }

    static void requireConversation(Handle handle, long appId, long conversationId) throws SQLException {
        if (handle.first(CONVERSATION_EXISTS, row -> true, appId, conversationId).isEmpty()) {
            throw new NotFound("conversation", conversationId);
        }
    }

    private static RuntimeException missingOrDeleted(Handle handle, long appId, long conversationId, long messageId) {
        try {
            if (handle.first(GET, ROW, appId, conversationId, messageId).isPresent()) {
                return new Conflict("message-deleted", "message " + messageId + " is deleted and cannot be changed");
            }
            return handle.first(ARCHIVED_GET, ROW, appId, conversationId, messageId).isPresent()
                    ? new Conflict("message-archived", "message " + messageId + " is archived, and archived messages are "
                    + "read-only; deleting its conversation or user still erases it")
                    : new NotFound("message", messageId);
        } catch (SQLException e) {
            throw new dev.parley.db.DatabaseFailure(e);
        }
    }

    private static String jsonOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.toString();
    }

    private static Message map(ResultSet row) throws SQLException {
        Instant deletedAt = instant(row.getTimestamp("deleted_at"));
        return new Message(
                row.getLong("message_id"),
                row.getLong("conversation_id"),
                row.getLong("seq"),
                row.getString("role"),
                (Long) row.getObject("author_user_id"),
                (Long) row.getObject("author_character_id"),
                deletedAt == null ? row.getString("content") : null,
                deletedAt == null ? JsonText.stored(row.getString("metadata")) : null,
                deletedAt == null ? JsonText.stored(row.getString("attachments")) : null,
                (Long) row.getObject("reply_to_id"),
                Ids.timeOf(row.getLong("message_id")),
                instant(row.getTimestamp("edited_at")),
                deletedAt);
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
