package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.db.SqlWork;
import dev.parley.json.JsonText;
import dev.parley.json.Nullable;
import java.time.Instant;
import java.util.List;

/**
 * A user's conversations by last activity, each with its last message, unread count, state, counters
 * and the character's name and metadata (where apps keep an avatar), in one statement per page. The
 * conversation row carries the last-message pointer and preview, so a page is an index scan over the
 * user's conversations and never touches the messages table.
 *
 * <p>Groups the user joined as a guest come from a second index, of guest memberships only (V15), and
 * are merged with the user's own conversations by activity: a guest's page sorts the groups they
 * joined, never the conversations of the groups' owners.
 */
public final class Inbox {
    private static final String COLUMNS = """
            c.conversation_id, c.user_id, c.character_id, c.is_group, c.title, c.state, c.counters,
            c.last_message_id, c.last_message_role, c.last_message_preview, c.activity_id, c.message_count, c.last_seq,
            c.app_id, c.deleted_seqs, c.expired_seq, c.spilled_seq""";

    // The arguments are bound once, by name, in "page"; each branch reads them as one-time subqueries
    // (InitPlans), which index conditions and LIMIT can use, where a join to "page" would lose the index order.
    static final Query PAGE = new Query("inbox.page", """
            WITH page AS (SELECT ?::bigint AS app_id, ?::bigint AS user_id, ?::bigint AS activity_id,
                                 ?::bigint AS conversation_id, ?::int AS size)
            SELECT listed.*, %2$s AS unread_count,
                   ch.name AS character_name, ch.metadata AS character_metadata
              FROM ((SELECT %1$s, false AS guest,
                            coalesce((SELECT me.read_seq FROM conversation_members me
                                       WHERE me.app_id = c.app_id AND me.conversation_id = c.conversation_id
                                         AND me.member_kind = 'user' AND me.member_id = c.user_id), 0) AS read_seq
                       FROM conversations c
                      WHERE c.app_id = (SELECT app_id FROM page) AND c.user_id = (SELECT user_id FROM page)
                        AND (c.activity_id, c.conversation_id)
                            < ((SELECT activity_id FROM page), (SELECT conversation_id FROM page))
                      ORDER BY c.activity_id DESC, c.conversation_id DESC
                      LIMIT (SELECT size FROM page))
                    UNION ALL
                    (SELECT %1$s, true AS guest, g.read_seq
                       FROM conversation_members g
                       JOIN conversations c ON c.app_id = g.app_id AND c.conversation_id = g.conversation_id
                      WHERE g.app_id = (SELECT app_id FROM page) AND g.member_id = (SELECT user_id FROM page)
                        AND g.member_kind = 'user' AND g.guest
                        AND (c.activity_id, c.conversation_id)
                            < ((SELECT activity_id FROM page), (SELECT conversation_id FROM page))
                      ORDER BY c.activity_id DESC, c.conversation_id DESC
                      LIMIT (SELECT size FROM page))
                    ORDER BY activity_id DESC, conversation_id DESC
                    LIMIT (SELECT size FROM page)) listed
              JOIN characters ch ON ch.app_id = (SELECT app_id FROM page) AND ch.character_id = listed.character_id
             ORDER BY listed.activity_id DESC, listed.conversation_id DESC""".formatted(COLUMNS,
            ReadMarkers.unreadCount("listed", "listed.read_seq")));

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(PAGE);

    /**
     * One conversation as the inbox lists it; {@code guest} says the reader joined a group someone else
     * started. The counters are those last written (PARLEY_COUNTER_FLUSH_AFTER), as the row holds them.
     */
    public record Entry(
            @JsonFormat(shape = JsonFormat.Shape.STRING) long conversationId,
            @JsonFormat(shape = JsonFormat.Shape.STRING) long userId,
            @JsonFormat(shape = JsonFormat.Shape.STRING) long characterId,
            String characterName,
            JsonText characterMetadata,
            boolean isGroup,
            boolean guest,
            @Nullable String title,
            JsonText state,
            JsonText counters,
            @Nullable Conversation.LastMessage lastMessage,
            long unreadCount,
            long messageCount,
            Instant lastActivityAt,
            @JsonIgnore long activityId) {
    }

    /**
     * The keyset position after an entry: (activity id, conversation id), and the newest activity of the first page,
     * which the pages after it must be read on a server that holds: a conversation moves up the inbox with its activity,
     * so a replica that has not replayed a move the first page showed lists it again further down.
     */
    public record Position(long activityId, long conversationId, long firstPageActivityId) {
        public static final Position START = new Position(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    static final RowMapper<Entry> ROW = row -> {
        long lastMessageId = row.getLong("last_message_id");
        Conversation.LastMessage last = row.wasNull() ? null : new Conversation.LastMessage(lastMessageId,
                row.getString("last_message_role"), row.getString("last_message_preview"), Ids.timeOf(lastMessageId));
        long activityId = row.getLong("activity_id");
        return new Entry(row.getLong("conversation_id"), row.getLong("user_id"), row.getLong("character_id"),
                row.getString("character_name"), JsonText.stored(row.getString("character_metadata")),
                row.getBoolean("is_group"), row.getBoolean("guest"), row.getString("title"),
                JsonText.stored(row.getString("state")), JsonText.stored(row.getString("counters")), last,
                row.getLong("unread_count"), row.getLong("message_count"), Ids.timeOf(activityId), activityId);
    };

    private final Database database;

    public Inbox(Database database) {
        this.database = database;
    }

    public List<Entry> page(long appId, long userId, Position after, int limit) {
        SqlWork<List<Entry>> page = handle -> {
            List<Entry> entries = handle.list(PAGE, ROW, appId, userId, after.activityId(), after.conversationId(), limit);
            if (entries.isEmpty()) {
                Users.require(handle, appId, userId);
            }
            return entries;
        };
        return after.equals(Position.START) ? database.readNearby(page)
                : database.readNearbyHolding(Ids.timeOf(after.firstPageActivityId()), page);
    }
}
