package dev.parley.chat;

import com.fasterxml.jackson.annotation.JsonFormat;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.Nullable;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

/**
 * Who takes part in a conversation: its user, the users who joined as guests, and its characters;
 * each with a read marker, so unread counts are per member. The conversation's own user and its
 * first character stay for its whole life; anyone else may join and leave.
 */
public final class Members {
    /** Whether a member is a person or a character: the {@code member_kind} column, the path segment, the JSON field. */
    public enum Kind {
        USER, CHARACTER;

        public String column() {
            return name().toLowerCase();
        }

        /** The body field and the error field that name a member of this kind. */
        public String field() {
            return column() + "_id";
        }
    }

    // Appends lock the same row (BatchWriter), so an author is checked against members that cannot change meanwhile.
    static final Query LOCK_CONVERSATION = new Query("member.lock_conversation", """
            SELECT user_id, character_id FROM conversations WHERE app_id = ? AND conversation_id = ? FOR UPDATE""");

    // Its own statement, run with the lock held: a count in the locking statement kept the snapshot it took
    // before waiting for the lock, so concurrent adds each counted the members as they were and overfilled the group.
    static final Query COUNT = new Query("member.count", """
            SELECT count(*) AS members FROM conversation_members
             WHERE app_id = ? AND conversation_id = ? AND member_kind = ?""");

    // The new member's row held until the join commits, as a foreign key would hold it: an erasure or a deletion of
    // the user or character, which locks the row first, then either finds the membership or is waited for, and the
    // join finds the row gone. Without it a user added while being erased stayed a member of the group.
    static final Query USER_EXISTS = new Query("member.user_exists", """
            SELECT 1 FROM users WHERE app_id = ? AND user_id = ? FOR KEY SHARE""");

    static final Query CHARACTER_EXISTS = new Query("member.character_exists", """
            SELECT 1 FROM characters WHERE app_id = ? AND character_id = ? FOR KEY SHARE""");

    // A user other than the conversation's own joins as a guest: the inbox finds guests by their own index (V15).
    static final Query ADD = new Query("member.add", """
            INSERT INTO conversation_members (app_id, conversation_id, member_kind, member_id, guest)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING""");

    // Writing moves the writer's marker (BatchWriter), and the old marker left with the row: a guest who left and comes
    // back has read up to their own newest message. Only former members can have one, so a first join reads no messages.
    static final Query READ_UP_TO_OWN = new Query("member.read_up_to_own", """
            WITH rejoined AS (
                SELECT app_id, conversation_id, user_id FROM conversation_former_members
                 WHERE app_id = ? AND conversation_id = ? AND user_id = ?)
            UPDATE conversation_members mb
               SET read_seq = coalesce((SELECT m.seq FROM messages m
                                         WHERE m.app_id = r.app_id AND m.conversation_id = r.conversation_id
                                           AND m.author_user_id = r.user_id
                                         ORDER BY m.message_id DESC LIMIT 1), 0)
              FROM rejoined r
             WHERE mb.app_id = r.app_id AND mb.conversation_id = r.conversation_id
               AND mb.member_kind = 'user' AND mb.member_id = r.user_id""");

    // A conversation with more than one person or character is a group; it stays one when they leave.
    static final Query MARK_GROUP = new Query("member.mark_group", """
            UPDATE conversations SET is_group = true, updated_at = now() WHERE app_id = ? AND conversation_id = ?""");

    static final Query REMOVE = new Query("member.remove", """
            DELETE FROM conversation_members
             WHERE app_id = ? AND conversation_id = ? AND member_kind = ? AND member_id = ?""");

    // Their messages stay in the group: erasing the user later finds them through this row (V18).
    static final Query REMEMBER_FORMER = new Query("member.remember_former", """
            INSERT INTO conversation_former_members (app_id, user_id, conversation_id, left_at)
            VALUES (?, ?, ?, now())
            ON CONFLICT DO NOTHING""");

    static final Query LIST = new Query("member.list", """
            SELECT m.member_kind, m.member_id, m.joined_at, m.read_seq, m.read_at, %s AS unread_count
              FROM conversations c
              JOIN conversation_members m ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
             WHERE c.app_id = ? AND c.conversation_id = ?
             ORDER BY m.member_kind DESC, m.joined_at, m.member_id"""
            .formatted(ReadMarkers.unreadCount("c", "m.read_seq")));

    static final Query GET = new Query("member.get", """
            SELECT m.member_kind, m.member_id, m.joined_at, m.read_seq, m.read_at, %s AS unread_count
              FROM conversations c
              JOIN conversation_members m ON m.app_id = c.app_id AND m.conversation_id = c.conversation_id
             WHERE c.app_id = ? AND c.conversation_id = ? AND m.member_kind = ? AND m.member_id = ?"""
            .formatted(ReadMarkers.unreadCount("c", "m.read_seq")));

    /** One member and how far they have read: {@code unreadCount} never counts their own messages. */
    public record Member(String kind, @JsonFormat(shape = JsonFormat.Shape.STRING) long id, Instant joinedAt,
                         long readSeq, long unreadCount, @Nullable Instant readAt) {
    }

    /** A member as added: {@code created} is false when they were a member already. */
    public record Added(Member member, boolean created) {
    }

    /** Who cannot leave: the conversation's user and its first character. */
    private record Founders(long userId, long characterId) {
    }

    static final RowMapper<Member> ROW = row -> new Member(row.getString("member_kind"), row.getLong("member_id"),
            instant(row.getTimestamp("joined_at")), row.getLong("read_seq"), row.getLong("unread_count"),
            instant(row.getTimestamp("read_at")));

    private final Database database;
    private final ReadCache cache;

    public Members(Database database, ReadCache cache) {
        this.database = database;
        this.cache = cache;
    }

    public List<Member> list(long appId, long conversationId) {
        return database.read(handle -> {
            List<Member> members = handle.list(LIST, ROW, appId, conversationId);
            if (members.isEmpty()) {
                MessageLog.requireConversation(handle, appId, conversationId);
            }
            return members;
        });
    }

    /** Adds a user (as a guest) or a character; one who is a member already stays as they are. */
    public Added add(long appId, long conversationId, Kind kind, long memberId) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                Founders founders = lock(handle, appId, conversationId);
                requireExists(handle, appId, kind, memberId);
                boolean guest = kind == Kind.USER && memberId != founders.userId();
                boolean created = handle.execute(ADD, appId, conversationId, kind.column(), memberId, guest) == 1;
                if (created) {
                    requireRoom(kind, count(handle, appId, conversationId, kind));
                    handle.execute(MARK_GROUP, appId, conversationId);
                    if (kind == Kind.USER) {
                        handle.execute(READ_UP_TO_OWN, appId, conversationId, memberId);
                    }
                }
                change.mark(changed(appId, conversationId, founders.userId(), kind, memberId));
                return new Added(handle.first(GET, ROW, appId, conversationId, kind.column(), memberId).orElseThrow(), created);
            });
        }
    }

    /** Removes a member; the conversation's user and first character cannot be removed (409). */
    public void remove(long appId, long conversationId, Kind kind, long memberId) {
        try (ReadCache.Changing change = cache.changing()) {
            database.inTransaction(handle -> {
                Founders founders = lock(handle, appId, conversationId);
                if (kind == Kind.USER && memberId == founders.userId()
                        || kind == Kind.CHARACTER && memberId == founders.characterId()) {
                    throw new Conflict("member-is-founder", kind.column() + " " + memberId + " started conversation "
                            + conversationId + " and stays its member; start another conversation without them instead");
                }
                if (handle.execute(REMOVE, appId, conversationId, kind.column(), memberId) == 0) {
                    throw new NotFound(kind.column() + " member", memberId + " of conversation " + conversationId);
                }
                if (kind == Kind.USER) {
                    handle.execute(REMEMBER_FORMER, appId, memberId, conversationId);
                }
                change.mark(changed(appId, conversationId, founders.userId(), kind, memberId));
                return null;
            });
        }
    }

    private static Founders lock(Handle handle, long appId, long conversationId) throws SQLException {
        return handle.first(LOCK_CONVERSATION, row -> new Founders(row.getLong("user_id"), row.getLong("character_id")),
                        appId, conversationId)
                .orElseThrow(() -> new NotFound("conversation", conversationId));
    }

    /** Members of this kind, the one just added included: read under the lock, in a snapshot taken after it. */
    private static long count(Handle handle, long appId, long conversationId, Kind kind) throws SQLException {
        return handle.first(COUNT, row -> row.getLong("members"), appId, conversationId, kind.column()).orElseThrow();
    }

    private static void requireExists(Handle handle, long appId, Kind kind, long memberId) throws SQLException {
        Query exists = kind == Kind.USER ? USER_EXISTS : CHARACTER_EXISTS;
        if (handle.first(exists, row -> true, appId, memberId).isEmpty()) {
            throw new InvalidInput(kind.field(), "refers to " + kind.column() + " " + memberId
                    + ", which does not exist in this app");
        }
    }

    private static void requireRoom(Kind kind, long members) {
        int limit = kind == Kind.USER ? Limits.MAX_GROUP_USERS : Limits.MAX_GROUP_CHARACTERS;
        if (members > limit) {
            throw new InvalidInput(kind.field(), "would make " + members + " " + kind.column()
                    + " members; the limit is " + limit + " per conversation");
        }
    }

    /** The conversation's views (its members) and its user's inbox change; a user who joined or left sees another inbox. */
    private static List<Scope> changed(long appId, long conversationId, long userId, Kind kind, long memberId) {
        return ReadCache.conversationScopes(appId, conversationId, userId, kind == Kind.USER ? List.of(memberId) : List.of());
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
