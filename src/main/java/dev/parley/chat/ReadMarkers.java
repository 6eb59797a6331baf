package dev.parley.chat;

import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import java.sql.SQLException;
import java.util.List;

/**
 * How far each member of a conversation has read. A marker only moves forward, and the unread
 * count is the conversation's last sequence number minus the member's, less the messages deleted or
 * expired past the marker: no messages are counted, only the conversation's short list of deleted
 * ones and the last one retention took (V26).
 */
public final class ReadMarkers {
    // The marker moves to the message's sequence number, never back.
    private static final String MARK_IN = """
            UPDATE conversation_members mb
               SET read_seq = greatest(mb.read_seq, m.seq), read_at = now()
              FROM conversations c, %s m
             WHERE c.app_id = ? AND c.conversation_id = ?
               AND mb.app_id = c.app_id AND mb.conversation_id = c.conversation_id
               AND mb.member_kind = ? AND mb.member_id = coalesce(?, c.user_id)
               AND m.app_id = c.app_id AND m.conversation_id = c.conversation_id
               AND m.message_id = ? AND m.message_id > c.conversation_id
            RETURNING mb.read_seq, %s AS unread_count, mb.member_id""";
    static final Query MARK = new Query("read_marker.mark", MARK_IN.formatted("messages", unreadCount("c", "mb.read_seq")));
    // A message whose month was archived (docs/operations.md, "Archive") still marks: a user back in a chat idle past
    // the archive age clears its badge with the last message they see. Asked only when the hot months lack it.
    static final Query MARK_ARCHIVED = new Query("read_marker.mark_archived",
            MARK_IN.formatted(Partitions.ARCHIVE, unreadCount("c", "mb.read_seq")));

    // A custom plan of MARK was made for every call (0.46 ms of planning for 0.26 ms of execution), as the
    // generic one, over every month of messages, never looks cheaper: the transaction asks for the generic one.
    // And names the change's origin: the marker's notice names the inbox this instance drops itself.
    static final Query GENERIC_PLANS = Query.genericPlansFrom("read_marker");

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(MARK);

    static final Query IS_MEMBER = new Query("read_marker.is_member", """
            SELECT 1 FROM conversation_members
             WHERE app_id = ? AND conversation_id = ? AND member_kind = ? AND member_id = ?""");

    /**
     * A member's unread count as SQL: the messages appended after their marker, {@code readSeq}, or after the last
     * one retention took if that is later, less those deleted since. The conversation row {@code conversation} lists
     * the newest 1,000 deleted newest first (V26; null in most conversations); older ones are in
     * conversation_deleted_seqs, read only for a member whose marker is below the newest of them (V28).
     */
    static String unreadCount(String conversation, String readSeq) {
        String from = "greatest(%2$s, %1$s.expired_seq)";
        return ("%1$s.last_seq - " + from + " - CASE WHEN %1$s.deleted_seqs IS NULL THEN 0"
                + " ELSE (SELECT count(*) FROM unnest(%1$s.deleted_seqs) d WHERE d > " + from + ") END"
                + " - CASE WHEN %1$s.spilled_seq <= " + from + " THEN 0"
                + " ELSE (SELECT count(*) FROM conversation_deleted_seqs s WHERE s.app_id = %1$s.app_id"
                + " AND s.conversation_id = %1$s.conversation_id AND s.seq > " + from + ") END")
                .formatted(conversation, readSeq);
    }

    /** A member's position after marking: the last sequence number read, and how many are left. */
    public record ReadState(long readSeq, long unreadCount) {
    }

    private final Database database;
    private final ReadCache cache;

    public ReadMarkers(Database database, ReadCache cache) {
        this.database = database;
        this.cache = cache;
    }

    /**
     * Marks everything up to and including the message as read by the member {@code memberId} of that
     * kind; a null user is the conversation's own.
     */
    public ReadState markRead(long appId, long conversationId, long messageId, Members.Kind kind, Long memberId) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                // The settings travel with the update (one round trip); the COMMIT follows the inbox's mark, whose user
                // the update names when the caller did not.
                RowMapper<Marked> marked = row -> new Marked(new ReadState(row.getLong(1), row.getLong(2)), row.getLong(3));
                var state = handle.listAfter(GENERIC_PLANS, new Object[] {change.origin()}, MARK, marked,
                        appId, conversationId, kind.column(), memberId, messageId).stream().findFirst();
                if (state.isEmpty()) {
                    state = handle.first(MARK_ARCHIVED, marked, appId, conversationId, kind.column(), memberId, messageId);
                }
                if (state.isEmpty()) {
                    throw notMarked(handle, appId, conversationId, messageId, kind, memberId);
                }
                if (kind == Members.Kind.USER) { // a character's marker is in no cached view
                    change.mark(List.of(Scope.inbox(appId, state.get().memberId())));
                }
                return state.get().state();
            });
        }
    }

    /** Why no marker moved: no such conversation, member or message in it. */
    private static RuntimeException notMarked(Handle handle, long appId, long conversationId, long messageId,
                                              Members.Kind kind, Long memberId) throws SQLException {
        MessageLog.requireConversation(handle, appId, conversationId);
        if (memberId != null && handle.first(IS_MEMBER, row -> true, appId, conversationId, kind.column(), memberId).isEmpty()) {
            return new InvalidInput(kind.field(), "refers to " + kind.column() + " " + memberId
                    + ", which is not a member of conversation " + conversationId);
        }
        return new InvalidInput("message_id", "refers to message " + messageId + ", which conversation " + conversationId
                + " does not hold (never written there, or hard-deleted)");
    }

    /** A member's new position, and who they are: a user's inbox shows it. */
    private record Marked(ReadState state, long memberId) {
    }
}
