package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.JsonText;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
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
 * Newest-first pages look at the last {@link #WINDOW} first and reach further back only when that
 * window holds too few rows: each partition left in a plan costs its start-up even when the scan
 * stops before reaching it, so "last 50" of a two-year-old companion chat read 39 partitions
 * (4,750 queries/s) where a month's window reads two (13,500/s; pgbench, generic plans, 10M messages).
 */
public final class MessageLog {
    static final String COLUMNS = """
            message_id, conversation_id, seq, role, author_user_id, author_character_id, content, metadata,
            attachments, reply_to_id, edited_at, deleted_at"""; // created_at is the id's own time: no need to read it

    /** How far back a newest-first page looks first: a chat's latest page is almost always within its last month. */
    static final Duration WINDOW = Duration.ofDays(31);

    // One statement, run under two names so /metrics shows how often a page must reach back further.
    private static final String NEWEST_FIRST = """
            SELECT %s FROM messages
             WHERE app_id = ? AND conversation_id = ? AND message_id > ? AND message_id < ?
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
            RETURNING %s""".formatted(COLUMNS));

    static final Query SOFT_DELETE = new Query("message.soft_delete", """
            UPDATE messages SET deleted_at = now()
             WHERE app_id = ? AND conversation_id = ? AND message_id = ? AND deleted_at IS NULL
            RETURNING %s""".formatted(COLUMNS));

    static final Query HARD_DELETE = new Query("message.hard_delete", """
            DELETE FROM messages WHERE app_id = ? AND conversation_id = ? AND message_id = ?
            RETURNING %s""".formatted(COLUMNS));

    static final Query SET_PREVIEW = new Query("conversation.set_preview", """
            UPDATE conversations SET last_message_preview = ?, updated_at = now()
             WHERE app_id = ? AND conversation_id = ? AND last_message_id = ?""");

    static final Query UNCOUNT = new Query("conversation.uncount_message", """
            UPDATE conversations SET message_count = message_count - 1, updated_at = now()
             WHERE app_id = ? AND conversation_id = ?""");

    static final RowMapper<Message> ROW = MessageLog::map;

    private final Database database;
    private final Clock clock;

    public MessageLog(Database database, Clock clock) {
        this.database = database;
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
        return database.read(h -> {
            Page page = read(h, appId, conversationId, position, limit, clock.instant());
            if (page.messages().isEmpty()) {
                requireConversation(h, appId, conversationId);
            }
            return page;
        });
    }

    static Page read(Handle h, long appId, long conversationId, Position position, int limit, Instant now) throws SQLException {
        return switch (position) {
            case Position.Latest latest -> page(newestFirst(h, RECENT, OLDER, ROW, appId, conversationId, Long.MAX_VALUE,
                    now, limit + 1), limit, false);
            case Position.Before before -> page(newestFirst(h, RECENT, OLDER, ROW, appId, conversationId, before.messageId(),
                    Ids.timeOf(before.messageId()), limit + 1), limit, true);
            case Position.After after -> {
                List<Message> rows = h.list(AFTER, ROW, appId, conversationId, conversationId, after.messageId(), limit + 1);
                boolean more = rows.size() > limit;
                yield new Page(more ? rows.subList(0, limit) : rows, true, more);
            }
        };
    }

    /**
     * Up to {@code limit} rows below {@code beforeId}, newest first: from the window that ends at
     * {@code reference} first, then, only if that was not enough, from the rest of the conversation.
     * Both queries take the shape (app, conversation, lower bound, upper bound, limit).
     */
    static <T> List<T> newestFirst(Handle h, Query recent, Query older, RowMapper<T> mapper, long appId,
                                   long conversationId, long beforeId, Instant reference, int limit) throws SQLException {
        long windowStart = Math.max(conversationId, Ids.floorOf(reference.minus(WINDOW)));
        List<T> rows = new ArrayList<>(h.list(recent, mapper, appId, conversationId, windowStart, beforeId, limit));
        if (rows.size() < limit && windowStart > conversationId) {
            rows.addAll(h.list(older, mapper, appId, conversationId, conversationId,
                    Math.min(beforeId, windowStart + 1), limit - rows.size()));
        }
        return rows;
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
        return database.inTransaction(h -> {
            Message edited = h.first(EDIT, ROW, content, metadataGiven, jsonOrNull(metadata), attachmentsGiven,
                    jsonOrNull(attachments), appId, conversationId, messageId).orElseThrow(() -> missingOrDeleted(h, appId, conversationId, messageId));
            if (content != null) {
                h.execute(SET_PREVIEW, preview(content), appId, conversationId, messageId);
            }
            return edited;
        });
    }

    /** Soft delete: the message keeps its place in history, without its content. */
    public Message softDelete(long appId, long conversationId, long messageId) {
        return database.inTransaction(h -> {
            Message deleted = h.first(SOFT_DELETE, ROW, appId, conversationId, messageId)
                    .orElseThrow(() -> missingOrDeleted(h, appId, conversationId, messageId));
            h.execute(SET_PREVIEW, null, appId, conversationId, messageId);
            return deleted;
        });
    }

    /** Hard delete: the row is gone. Sequence numbers are never reused. */
    public void hardDelete(long appId, long conversationId, long messageId) {
        database.inTransaction(h -> {
            h.first(HARD_DELETE, ROW, appId, conversationId, messageId).orElseThrow(() -> new NotFound("message", messageId));
            h.execute(UNCOUNT, appId, conversationId);
            h.execute(SET_PREVIEW, null, appId, conversationId, messageId);
            return null;
        });
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
