package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.cache.ReadCache;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
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

    static final Query AFTER = new Query("message.history_after", """
            SELECT %s FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id > ?
             ORDER BY message_id
             LIMIT ?""".formatted(COLUMNS));

    static final Query GET = new Query("message.get", """
            SELECT %s FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ?""".formatted(COLUMNS));

    static final Query REPLIES = new Query("message.replies", """
            SELECT %s FROM messages
             WHERE app_id = ? AND conversation_id = ? AND reply_to_id = ? AND message_id > ? AND message_id > ?
             ORDER BY message_id
             LIMIT ?""".formatted(COLUMNS));

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

    static final Query SOFT_DELETE = new Query("message.soft_delete", """
            UPDATE messages SET deleted_at = now()
             WHERE app_id = ? AND conversation_id = ? AND message_id = ? AND deleted_at IS NULL
            RETURNING %s, user_id AS owner_id, %s""".formatted(COLUMNS, GUESTS));

    static final Query HARD_DELETE = new Query("message.hard_delete", """
            DELETE FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ?
            RETURNING %s, user_id AS owner_id, %s""".formatted(COLUMNS, GUESTS));

    static final Query SET_PREVIEW = new Query("conversation.set_preview", """
            UPDATE conversations SET last_message_preview = ?, updated_at = now()
             WHERE app_id = ? AND conversation_id = ? AND last_message_id = ?""");

    static final Query UNCOUNT = new Query("conversation.uncount_message", """
            UPDATE conversations SET message_count = message_count - 1, updated_at = now()
             WHERE app_id = ? AND conversation_id = ?""");

    static final RowMapper<Message> ROW = MessageLog::map;

    // A changed message, the user whose conversation (and inbox) it is, and the guests whose inboxes list it.
    private record Changed(Message message, long ownerId, List<Long> guestIds) {
    }

    private static final RowMapper<Changed> CHANGED = row -> new Changed(map(row), row.getLong("owner_id"),
            List.of((Long[]) row.getArray("guest_ids").getArray()));

    private final Database database;
    private final ReadCache cache;

    public MessageLog(Database database, ReadCache cache) {
        this.database = database;
        this.cache = cache;
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
        return database.read(h -> switch (position) {
            case Position.Latest latest -> latest(h, appId, conversationId, limit);
            case Position.Before before -> existing(h, appId, conversationId, before(h, appId, conversationId, before.messageId(), limit));
            case Position.After after -> existing(h, appId, conversationId, after(h, appId, conversationId, after.messageId(), limit));
        });
    }

    /** The page that ends at the conversation's newest message; finding that id also finds whether the conversation exists. */
    private static Page latest(Handle h, long appId, long conversationId, int limit) throws SQLException {
        long newestId = newestId(h, appId, conversationId);
        return page(newestFirst(h, RECENT, OLDER, ROW, appId, conversationId, newestId, limit + 1), limit, false);
    }

    private static Page before(Handle h, long appId, long conversationId, long cursor, int limit) throws SQLException {
        long newestId = Math.max(cursor, conversationId) - 1; // a cursor at or below the conversation's id has nothing below it
        return page(newestFirst(h, RECENT, OLDER, ROW, appId, conversationId, newestId, limit + 1), limit, true);
    }

    private static Page after(Handle h, long appId, long conversationId, long cursor, int limit) throws SQLException {
        List<Message> rows = h.list(AFTER, ROW, appId, conversationId, conversationId, cursor, limit + 1);
        boolean more = rows.size() > limit;
        return new Page(more ? rows.subList(0, limit) : rows, true, more);
    }

    /** The page; an empty one only if the conversation exists. */
    private static Page existing(Handle h, long appId, long conversationId, Page page) throws SQLException {
        if (page.messages().isEmpty()) {
            requireConversation(h, appId, conversationId);
        }
        return page;
    }

    /** The newest id a message of the conversation can have; the conversation must exist. */
    static long newestId(Handle h, long appId, long conversationId) throws SQLException {
        return h.first(NEWEST_ID, row -> row.getLong(1), appId, conversationId)
                .orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    /**
     * Up to {@code limit} rows with ids up to {@code newestId}, newest first: from the {@link #WINDOW}
     * before it first, then, only if that was not enough, from the rest of the conversation. Both
     * queries take the shape (app, conversation, lower bound, upper bound, limit).
     */
    public static <T> List<T> newestFirst(Handle h, Query recent, Query older, RowMapper<T> mapper, long appId,
                                          long conversationId, long newestId, int limit) throws SQLException {
        if (newestId <= conversationId) {
            return new ArrayList<>(); // no message yet, or a cursor at the start: nothing to read
        }
        long windowStart = windowStart(conversationId, newestId);
        List<T> rows = new ArrayList<>(h.list(recent, mapper, appId, conversationId, windowStart, newestId, limit));
        if (rows.size() < limit && windowStart > conversationId) {
            rows.addAll(h.list(older, mapper, appId, conversationId, conversationId, windowStart, limit - rows.size()));
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

    public Message get(long appId, long conversationId, long messageId) {
        return database.read(h -> h.first(GET, ROW, appId, conversationId, messageId))
                .orElseThrow(() -> new NotFound("message", messageId));
    }

    /** Replies to one message, oldest first, after the {@code afterId} cursor. */
    public List<Message> replies(long appId, long conversationId, long parentId, long afterId, int limit) {
        return database.read(h -> {
            if (h.first(GET, ROW, appId, conversationId, parentId).isEmpty()) {
                throw new NotFound("message", parentId);
            }
            return h.list(REPLIES, ROW, appId, conversationId, parentId, parentId, afterId, limit);
        });
    }

    /** Replaces the given parts of a message and marks it edited; a deleted message cannot be edited. */
    public Message edit(long appId, long conversationId, long messageId, String content,
                        boolean metadataGiven, JsonNode metadata, boolean attachmentsGiven, JsonNode attachments) {
        Changed edited = database.inTransaction(h -> {
            Changed changed = h.first(EDIT, CHANGED, content, metadataGiven, jsonOrNull(metadata), attachmentsGiven,
                    jsonOrNull(attachments), appId, conversationId, messageId).orElseThrow(() -> missingOrDeleted(h, appId, conversationId, messageId));
            if (content != null) {
                h.execute(SET_PREVIEW, preview(content), appId, conversationId, messageId);
            }
            return changed;
        });
        cache.conversationChanged(appId, conversationId, edited.ownerId(), edited.guestIds());
        return edited.message();
    }

    /** Soft delete: the message keeps its place in history, without its content. */
    public Message softDelete(long appId, long conversationId, long messageId) {
        Changed deleted = database.inTransaction(h -> {
            Changed changed = h.first(SOFT_DELETE, CHANGED, appId, conversationId, messageId)
                    .orElseThrow(() -> missingOrDeleted(h, appId, conversationId, messageId));
            h.execute(SET_PREVIEW, null, appId, conversationId, messageId);
            return changed;
        });
        cache.conversationChanged(appId, conversationId, deleted.ownerId(), deleted.guestIds());
        return deleted.message();
    }

    /** Hard delete: the row is gone. Sequence numbers are never reused. */
    public void hardDelete(long appId, long conversationId, long messageId) {
        Changed deleted = database.inTransaction(h -> {
            Changed changed = h.first(HARD_DELETE, CHANGED, appId, conversationId, messageId)
                    .orElseThrow(() -> new NotFound("message", messageId));
            h.execute(UNCOUNT, appId, conversationId);
            h.execute(SET_PREVIEW, null, appId, conversationId, messageId);
            return changed;
        });
        cache.conversationChanged(appId, conversationId, deleted.ownerId(), deleted.guestIds());
    }

    static void requireConversation(Handle h, long appId, long conversationId) throws SQLException {
        if (h.first(CONVERSATION_EXISTS, row -> true, appId, conversationId).isEmpty()) {
            throw new NotFound("conversation", conversationId);
        }
    }

    private static RuntimeException missingOrDeleted(Handle h, long appId, long conversationId, long messageId) {
        try {
            return h.first(GET, ROW, appId, conversationId, messageId).isPresent()
                    ? new Conflict("message-deleted", "message " + messageId + " is deleted and cannot be changed")
                    : new NotFound("message", messageId);
        } catch (SQLException e) {
            throw new dev.parley.db.DatabaseFailure(e);
        }
    }

    static String preview(String content) {
        if (content.codePointCount(0, content.length()) <= Limits.PREVIEW_CHARS) {
            return content;
        }
        return content.substring(0, content.offsetByCodePoints(0, Limits.PREVIEW_CHARS));
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
