package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import java.time.Instant;
import java.util.List;

/**
 * A user's conversations by last activity, each with its last message and unread count, in one
 * statement per page. The conversation row carries the last-message pointer and preview, so a page
 * is an index scan over the user's conversations and never touches the messages table.
 */
public final class Inbox {
    static final Query PAGE = new Query("inbox.page", """
            SELECT c.conversation_id, c.character_id, ch.name AS character_name, c.is_group, c.title,
                   c.last_message_id, c.last_message_role, c.last_message_preview,
                   c.activity_id, c.message_count, c.last_seq - coalesce(m.read_seq, 0) AS unread_count
              FROM conversations c
              JOIN characters ch ON ch.app_id = c.app_id AND ch.character_id = c.character_id
              LEFT JOIN conversation_members m
                ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.member_kind = 'user' AND m.member_id = c.user_id
             WHERE c.app_id = ? AND c.user_id = ? AND (c.activity_id, c.conversation_id) < (?, ?)
             ORDER BY c.activity_id DESC, c.conversation_id DESC
             LIMIT ?""");

    /** One conversation as the inbox lists it. */
    public record Entry(
            @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
            @JsonFormat(shape = JsonFormat.Shape.STRING) long characterId,
            String characterName,
            boolean isGroup,
            String title,
            Conversation.LastMessage lastMessage,
            long unreadCount,
            long messageCount,
            Instant lastActivityAt,
            @JsonIgnore long activityId) {
    }

    /** The keyset position after an entry: (activity id, conversation id). */
    public record Position(long activityId, long conversationId) {
        public static final Position START = new Position(Long.MAX_VALUE, Long.MAX_VALUE);
    }

    static final RowMapper<Entry> ROW = row -> {
        long lastMessageId = row.getLong("last_message_id");
        Conversation.LastMessage last = row.wasNull() ? null : new Conversation.LastMessage(lastMessageId,
                row.getString("last_message_role"), row.getString("last_message_preview"), Ids.timeOf(lastMessageId));
        return new Entry(row.getLong("conversation_id"), row.getLong("character_id"), row.getString("character_name"),
                row.getBoolean("is_group"), row.getString("title"), last, row.getLong("unread_count"),
                row.getLong("message_count"), Ids.timeOf(row.getLong("activity_id")), row.getLong("activity_id"));
    };

    private final Database database;

    public Inbox(Database database) {
        this.database = database;
    }

    public List<Entry> page(long appId, long userId, Position after, int limit) {
        return database.read(h -> {
            List<Entry> entries = h.list(PAGE, ROW, appId, userId, after.activityId(), after.conversationId(), limit);
            if (entries.isEmpty()) {
                Users.require(h, appId, userId);
            }
            return entries;
        });
    }
}
