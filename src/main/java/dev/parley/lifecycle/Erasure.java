package dev.parley.lifecycle;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.chat.Conversations;
import dev.parley.chat.CounterBuffer;
import dev.parley.chat.MessageLog;
import dev.parley.chat.NotFound;
import dev.parley.chat.StaleVersion;
import dev.parley.chat.Users;
import dev.parley.config.CounterFlush;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.NamedQuery;
import dev.parley.db.Query;
import dev.parley.json.Json;
import dev.parley.live.LocalMaps;
import dev.parley.live.Presence;
import dev.parley.memory.Recall;
import java.sql.SQLException;
import java.sql.Timestamp;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deleting a conversation or a character, and erasing a user with everything Parley holds about them.
 *
 * <p>Conversations go in batches of {@link #BATCH}, each in its own short transaction, so erasing a
 * user with years of history never holds one huge transaction; a last transaction, holding the
 * subject's own row, sweeps up whatever was written meanwhile and removes the subject. A deletion
 * that fails part way leaves the subject in place with less data, and running it again finishes it.
 *
 * <p>Each batch first locks its conversations (in id order, as appends do) and only then deletes their
 * messages, in a second statement: an append that held a lock has committed by then and its message
 * is seen and deleted; an append waiting for a lock finds the conversation gone (404).
 *
 * <p>Every deletion leaves an audit row ({@code erasures}: who asked, when, how many rows of each kind)
 * and drops what any instance cached: the triggers of V10 announce the rows' deletion, and Recall's
 * vectors of an erased user or character are dropped by a notice of their own.
 */
public final class Erasure {
    /** Conversations deleted per transaction. */
    static final int BATCH = 100;

    /** What memories of a deleted conversation become. */
    public enum ConversationMemories {
        /** Kept by the user and character, no longer linked to the conversation (the default). */
        KEEP,
        DELETE
    }

    /** What a deletion removed: rows by kind ("messages": 120, ...), and the audit row that says so. */
    public record Erased(String subject, @JsonFormat(shape = JsonFormat.Shape.STRING) long id,
                         @JsonFormat(shape = JsonFormat.Shape.STRING) long erasureId, Instant erasedAt,
                         Map<String, Long> rows) {
    }

    static final Query CONVERSATIONS_OF_USER = new Query("erasure.conversations_of_user", """
            SELECT conversation_id FROM conversations WHERE app_id = ? AND user_id = ? ORDER BY conversation_id LIMIT ?""");

    static final Query CONVERSATIONS_OF_CHARACTER = new Query("erasure.conversations_of_character", """
            SELECT conversation_id FROM conversations WHERE app_id = ? AND character_id = ? ORDER BY conversation_id LIMIT ?""");

    // The people of each conversation locked: their inboxes list it, and are dropped from caches once it is gone.
    static final Query LOCK = new Query("erasure.lock_conversations", """
            SELECT c.conversation_id,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id AND m.member_kind = 'user'
                          ORDER BY m.member_id = c.user_id DESC) AS user_ids
              FROM conversations c WHERE c.app_id = ? AND c.conversation_id = ANY(?)
             ORDER BY c.conversation_id FOR UPDATE OF c""");

    // Run after LOCK, as its own statement: its snapshot holds every append that committed before the locks.
    static final NamedQuery DELETE_CONVERSATIONS = NamedQuery.of("erasure.delete_conversations", """
            WITH messages_gone AS (
                    DELETE FROM messages WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) RETURNING 1),
                 archived_gone AS (
                    DELETE FROM parley_archive.messages WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) RETURNING 1),
                 keys_gone AS (
                    DELETE FROM message_idempotency_keys WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) RETURNING 1),
                 members_gone AS (
                    DELETE FROM conversation_members WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) RETURNING 1),
                 conversations_gone AS (
                    DELETE FROM conversations WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) RETURNING 1)
            SELECT (SELECT count(*) FROM conversations_gone),
                   (SELECT count(*) FROM messages_gone) + (SELECT count(*) FROM archived_gone),
                   (SELECT count(*) FROM members_gone), (SELECT count(*) FROM keys_gone)""");

    // A person's messages in groups that are not theirs; the groups' message and unread counts follow (V26), and the
    // groups whose last message went are named (their ids and that message's) for MessageLog.replaceLastMessages, as
    // after a hard delete.
    static final NamedQuery LEAVE_GROUPS = NamedQuery.of("erasure.leave_groups", """
            WITH gone AS (
                    DELETE FROM messages
                     WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) AND author_user_id = :user_id
                    RETURNING conversation_id, message_id, seq),
                 archived_gone AS (
                    DELETE FROM parley_archive.messages WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids)
                       AND author_user_id = :user_id
                    RETURNING conversation_id, message_id, seq),
                 keys_gone AS (
                    DELETE FROM message_idempotency_keys k USING gone
                     WHERE k.app_id = :app_id AND k.conversation_id = gone.conversation_id AND k.message_id = gone.message_id
                    RETURNING 1),
                 recount AS (
                    UPDATE conversations c
                       SET message_count = c.message_count - n.messages,
                           deleted_seqs = parley_deleted_seqs(c.deleted_seqs, n.seqs), updated_at = now()
                      FROM (SELECT conversation_id, count(*) AS messages, array_agg(message_id) AS ids, array_agg(seq) AS seqs
                              FROM (SELECT * FROM gone UNION ALL SELECT * FROM archived_gone) all_gone
                             GROUP BY conversation_id) n
                     WHERE c.app_id = :app_id AND c.conversation_id = n.conversation_id
                    RETURNING c.conversation_id, c.last_message_id, c.last_message_id = ANY(n.ids) AS last_gone),
                 memberships_gone AS (
                    DELETE FROM conversation_members
                     WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids) AND member_kind = 'user' AND member_id = :user_id
                    RETURNING 1),
                 former_gone AS (
                    DELETE FROM conversation_former_members WHERE app_id = :app_id AND user_id = :user_id
                       AND conversation_id = ANY(:conversation_ids)
                    RETURNING 1)
            SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM archived_gone), (SELECT count(*) FROM keys_gone),
                   (SELECT count(*) FROM memberships_gone) + (SELECT count(*) FROM former_gone),
                   ARRAY(SELECT conversation_id FROM recount WHERE last_gone), ARRAY(SELECT last_message_id FROM recount WHERE last_gone)""");

    // Memories of deleted conversations: unlinked or deleted, and their scopes' versions moved so recall reloads them.
    // (A data-modifying WITH runs to completion whether or not the query reads it.) Unlinking passes over the
    // memories of the user or character being erased, which go with them. The scopes are locked in order of user and
    // character, as memory writes lock them (Memories.touchScopes): in the order of a join, they deadlocked with a
    // batch of memories of two characters.
    private static final String MEMORIES_OF_CONVERSATIONS = """
            WITH changed AS (%s
                    RETURNING app_id, user_id, character_id),
                 locked AS (
                    SELECT s.app_id, s.user_id, s.character_id FROM memory_scopes s
                     WHERE (s.app_id, s.user_id, s.character_id) IN (SELECT app_id, user_id, character_id FROM changed)
                     ORDER BY s.user_id, s.character_id
                       FOR UPDATE),
                 scopes AS (
                    UPDATE memory_scopes s SET version = s.version + 1
                      FROM locked c
                     WHERE s.app_id = c.app_id AND s.user_id = c.user_id AND s.character_id = c.character_id
                    RETURNING 1)
            SELECT count(*) FROM changed""";

    static final NamedQuery UNLINK_MEMORIES = NamedQuery.of("erasure.unlink_memories", MEMORIES_OF_CONVERSATIONS.formatted("""
            UPDATE memories SET conversation_id = NULL, updated_at = now()
                     WHERE app_id = :app_id AND conversation_id = ANY(:conversation_ids)
                       AND (:except_user_id::bigint IS NULL OR user_id <> :except_user_id)
                       AND (:except_character_id::bigint IS NULL OR character_id <> :except_character_id)"""));

    static final Query DELETE_MEMORIES_OF_CONVERSATIONS = new Query("erasure.delete_memories_of_conversations",
            MEMORIES_OF_CONVERSATIONS.formatted("""
            DELETE FROM memories WHERE app_id = ? AND conversation_id = ANY(?)"""));

    // Their version, for a DELETE's If-Match: compared with the row locked, as a PATCH compares it.
    static final Query LOCK_USER = new Query("erasure.lock_user", """
            SELECT version FROM users WHERE app_id = ? AND user_id = ? FOR UPDATE""");

    static final Query LOCK_CHARACTER = new Query("erasure.lock_character", """
            SELECT version FROM characters WHERE app_id = ? AND character_id = ? FOR UPDATE""");

    static final Query CONVERSATION_VERSION = new Query("erasure.conversation_version", """
            SELECT version FROM conversations WHERE app_id = ? AND conversation_id = ?""");

    static final NamedQuery DELETE_USER = NamedQuery.of("erasure.delete_user", """
            WITH memories_gone AS (
                    DELETE FROM memories WHERE app_id = :app_id AND user_id = :user_id RETURNING 1),
                 scopes_gone AS (
                    DELETE FROM memory_scopes WHERE app_id = :app_id AND user_id = :user_id RETURNING 1),
                 user_gone AS (
                    DELETE FROM users WHERE app_id = :app_id AND user_id = :user_id RETURNING 1)
            SELECT (SELECT count(*) FROM user_gone), (SELECT count(*) FROM memories_gone), (SELECT count(*) FROM scopes_gone)""");

    // A character's memories are found through its scopes (one per user who has memories of it).
    static final NamedQuery DELETE_CHARACTER = NamedQuery.of("erasure.delete_character", """
            WITH memories_gone AS (
                    DELETE FROM memories m USING memory_scopes s
                     WHERE s.app_id = :app_id AND s.character_id = :character_id
                       AND m.app_id = s.app_id AND m.user_id = s.user_id AND m.character_id = s.character_id
                    RETURNING 1),
                 scopes_gone AS (
                    DELETE FROM memory_scopes WHERE app_id = :app_id AND character_id = :character_id RETURNING 1),
                 memberships_gone AS (
                    DELETE FROM conversation_members WHERE app_id = :app_id AND member_kind = 'character' AND member_id = :character_id
                    RETURNING 1),
                 character_gone AS (
                    DELETE FROM characters WHERE app_id = :app_id AND character_id = :character_id RETURNING 1)
            SELECT (SELECT count(*) FROM character_gone), (SELECT count(*) FROM memories_gone),
                   (SELECT count(*) FROM scopes_gone), (SELECT count(*) FROM memberships_gone)""");

    static final Query AUDIT = new Query("erasure.audit", """
            INSERT INTO erasures (app_id, erased_at, subject, subject_id, requested_by, counts)
            VALUES (?, ?, ?, ?, ?, ?::jsonb)
            RETURNING erasure_id""");

    static final Query ANNOUNCE = new Query("erasure.announce", "SELECT parley_announce(ARRAY[?])");

    /** A conversation locked for deletion, and its people: the owner first. */
    private record Locked(long conversationId, List<Long> userIds) {
    }

    private final Database database;
    private final ReadCache cache;
    private final Recall recall;
    private final Presence presence;
    private final Clock clock;

    public Erasure(Database database, ReadCache cache, Recall recall, Presence presence, Clock clock) {
        this.database = database;
        this.cache = cache;
        this.recall = recall;
        this.presence = presence;
        this.clock = clock;
    }

    /**
     * An Erasure for an operator command, which caches nothing of its own: running instances drop what they
     * cached of the erased rows when the database announces the deletions (V10, and Recall's notices).
     * Presence kept in Redis is not reached; it lapses by itself.
     */
    public static Erasure forCommands(Database database, Clock clock) {
        ReadCache none = ReadCache.none();
        var registry = new SimpleMeterRegistry();
        var counters = new CounterBuffer(database, none, Runnable::run, Ticker.systemTicker(), CounterFlush.DEFAULTS, registry);
        var presence = new Presence(new LocalMaps(1, Ticker.systemTicker()), new Users(database, none, counters), Duration.ZERO,
                clock); // never marks anyone: it only forgets
        return new Erasure(database, none, new Recall(database, clock, 0, registry), presence, clock);
    }

    /** Deletes one conversation: its messages, members, read markers and idempotency keys; its memories as {@code memories} says. */
    public Erased deleteConversation(long appId, long conversationId, ConversationMemories memories, String requestedBy) {
        return deleteConversation(appId, conversationId, memories, null, requestedBy);
    }

    /**
     * As above, only if the conversation is at {@code requiredVersion} (a DELETE's If-Match; null: whatever its version),
     * compared with its row locked: else {@link StaleVersion}, and nothing is deleted.
     */
    public Erased deleteConversation(long appId, long conversationId, ConversationMemories memories, Long requiredVersion,
                                     String requestedBy) {
        var rows = new Tally("conversations", "messages", "memberships", "idempotency_keys",
                memories == ConversationMemories.KEEP ? "memories_unlinked" : "memories");
        return changing(appId, rows, (handle, change) -> {
            List<Locked> locked = lock(handle, appId, List.of(conversationId));
            if (locked.isEmpty()) {
                throw new NotFound("conversation", conversationId);
            }
            if (requiredVersion != null) {
                requireVersion("conversation", conversationId, requiredVersion,
                        handle.first(CONVERSATION_VERSION, row -> row.getLong(1), appId, conversationId).orElseThrow());
            }
            deleteLocked(handle, appId, locked, memories, rows);
            return audit(handle, appId, "conversation", conversationId, requestedBy, rows);
        });
    }

    /**
     * Erases a user: their conversations with every message in them, their messages in others' groups,
     * their memberships and read markers, memories, embeddings and idempotency keys, cached views and
     * presence. What others (guests) remember from the user's conversations stays theirs, unlinked.
     */
    public Erased eraseUser(long appId, long userId, String requestedBy) {
        return eraseUser(appId, userId, null, requestedBy);
    }

    /**
     * As above, only if the user is at {@code requiredVersion} (a DELETE's If-Match; null: whatever its version): else
     * {@link StaleVersion}, and nothing is erased. It is compared before the first batch, which is what a stale
     * If-Match must prevent: a PATCH that lands while the batches run changes a profile that is being erased anyway.
     */
    public Erased eraseUser(long appId, long userId, Long requiredVersion, String requestedBy) {
        long version = database.read(handle -> handle.first(LOCK_USER, row -> row.getLong(1), appId, userId))
                .orElseThrow(() -> new NotFound("user", userId));
        requireVersion("user", userId, requiredVersion, version);
        var rows = new Tally("users", "conversations", "messages", "memberships", "idempotency_keys", "memories", "memory_scopes",
                "memories_unlinked");
        var othersKeepTheirs = new Keeping(userId, null);
        while (batch(appId, rows, handle -> handle.list(CONVERSATIONS_OF_USER, row -> row.getLong(1), appId, userId, BATCH),
                (handle, locked) -> deleteLocked(handle, appId, locked, ConversationMemories.KEEP, othersKeepTheirs, rows))) {
            // each batch in its own transaction
        }
        while (batch(appId, rows,
                handle -> handle.list(Conversations.GROUPS_OF_USER.bind("app_id", appId).bind("user_id", userId)
                        .bind("limit", BATCH), row -> row.getLong(1)),
                (handle, locked) -> leaveGroups(handle, appId, userId, locked, rows))) {
            // the user's groups, a batch at a time
        }
        Erased erased = changing(appId, rows, (handle, change) -> {
            if (handle.first(LOCK_USER, row -> 1, appId, userId).isEmpty()) {
                throw new NotFound("user", userId);
            }
            // what was started or joined while the batches ran
            deleteLocked(handle, appId, lock(handle, appId, handle.list(CONVERSATIONS_OF_USER, row -> row.getLong(1), appId, userId,
                    Integer.MAX_VALUE)), ConversationMemories.KEEP, othersKeepTheirs, rows);
            leaveGroups(handle, appId, userId, lock(handle, appId, handle.list(Conversations.GROUPS_OF_USER.bind("app_id", appId)
                    .bind("user_id", userId).bind("limit", Integer.MAX_VALUE), row -> row.getLong(1))), rows);
            handle.first(DELETE_USER.bind("app_id", appId).bind("user_id", userId), row -> {
                rows.add("users", row.getLong(1));
                rows.add("memories", row.getLong(2));
                rows.add("memory_scopes", row.getLong(3));
                return null;
            });
            handle.first(ANNOUNCE, row -> null, Recall.ERASED_USER + ":" + appId + ":" + userId);
            change.mark(List.of(Scope.user(appId, userId), Scope.inbox(appId, userId)));
            return audit(handle, appId, "user", userId, requestedBy, rows);
        });
        recall.forgetUser(appId, userId);
        presence.forget(appId, userId);
        return erased;
    }

    /**
     * Deletes a character: the conversations it started (every message in them, whoever wrote it), its
     * memories of every user, and its place in others' groups, where the messages it wrote stay. Other
     * characters' memories from its conversations stay theirs, unlinked.
     */
    public Erased deleteCharacter(long appId, long characterId, String requestedBy) {
        return deleteCharacter(appId, characterId, null, requestedBy);
    }

    /** As above, only if the character is at {@code requiredVersion}, compared as {@link #eraseUser(long, long, Long, String)} does. */
    public Erased deleteCharacter(long appId, long characterId, Long requiredVersion, String requestedBy) {
        long version = database.read(handle -> handle.first(LOCK_CHARACTER, row -> row.getLong(1), appId, characterId))
                .orElseThrow(() -> new NotFound("character", characterId));
        requireVersion("character", characterId, requiredVersion, version);
        var rows = new Tally("characters", "conversations", "messages", "memberships", "idempotency_keys", "memories",
                "memory_scopes", "memories_unlinked");
        var othersKeepTheirs = new Keeping(null, characterId);
        while (batch(appId, rows, handle -> handle.list(CONVERSATIONS_OF_CHARACTER, row -> row.getLong(1), appId, characterId, BATCH),
                (handle, locked) -> deleteLocked(handle, appId, locked, ConversationMemories.KEEP, othersKeepTheirs, rows))) {
            // each batch in its own transaction
        }
        Erased erased = changing(appId, rows, (handle, change) -> {
            if (handle.first(LOCK_CHARACTER, row -> 1, appId, characterId).isEmpty()) {
                throw new NotFound("character", characterId);
            }
            deleteLocked(handle, appId, lock(handle, appId, handle.list(CONVERSATIONS_OF_CHARACTER, row -> row.getLong(1), appId,
                    characterId, Integer.MAX_VALUE)), ConversationMemories.KEEP, othersKeepTheirs, rows);
            handle.first(DELETE_CHARACTER.bind("app_id", appId).bind("character_id", characterId), row -> {
                rows.add("characters", row.getLong(1));
                rows.add("memories", row.getLong(2));
                rows.add("memory_scopes", row.getLong(3));
                rows.add("memberships", row.getLong(4));
                return null;
            });
            handle.first(ANNOUNCE, row -> null, Recall.ERASED_CHARACTER + ":" + appId + ":" + characterId);
            change.markCharacter(appId, characterId);
            return audit(handle, appId, "character", characterId, requestedBy, rows);
        });
        recall.forgetCharacter(appId, characterId);
        return erased;
    }

    /** A DELETE's If-Match that names another version than the stored one erases nothing. */
    private static void requireVersion(String subject, long id, Long requiredVersion, long current) {
        if (requiredVersion != null && requiredVersion != current) {
            throw new StaleVersion(subject, id, requiredVersion, current);
        }
    }

    private interface Find {
        List<Long> next(Handle handle) throws SQLException;
    }

    private interface Work {
        void run(Handle handle, List<Locked> locked) throws SQLException;
    }

    /**
     * One batch in one transaction: the next conversations {@code find} gives, locked, then {@code work}; their
     * cached views dropped once it commits. False when none were left.
     */
    private boolean batch(long appId, Tally rows, Find find, Work work) {
        return changing(appId, rows, (handle, change) -> {
            List<Long> batch = find.next(handle);
            work.run(handle, lock(handle, appId, batch));
            return !batch.isEmpty();
        });
    }

    /** Work on a transaction that may mark more views changing than the conversations it records in {@code rows}. */
    private interface Change<T> {
        T run(Handle handle, ReadCache.Changing change) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction that, before it commits, marks the views of the conversations it
     * changed (their people's inboxes, and recall's versions of their memories) as changing; they are dropped, here
     * and in Redis, once it is over.
     */
    private <T> T changing(long appId, Tally rows, Change<T> work) {
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                T result = work.run(handle, change);
                change.mark(rows.changed.stream().flatMap(c -> ReadCache.conversationScopes(appId, c.conversationId(),
                        c.userIds().isEmpty() ? 0 : c.userIds().getFirst(), c.userIds()).stream()).toList());
                // Their people's memories of the conversations were unlinked or deleted: recall's versions of them too.
                change.mark(rows.changed.stream().flatMap(c -> c.userIds().stream()).distinct()
                        .map(userId -> Scope.user(appId, userId)).toList());
                rows.changed.clear();
                return result;
            });
        }
    }

    private static List<Locked> lock(Handle handle, long appId, List<Long> conversationIds) throws SQLException {
        if (conversationIds.isEmpty()) {
            return List.of();
        }
        return handle.list(LOCK, row -> new Locked(row.getLong(1), List.of((Long[]) row.getArray(2).getArray())),
                appId, ids(handle, conversationIds));
    }

    /** Whose memories stay with them when their conversations go: everyone's, or all but an erased user's or character's. */
    private record Keeping(Long exceptUser, Long exceptCharacter) {
        static final Keeping ALL = new Keeping(null, null);
    }

    private static void deleteLocked(Handle handle, long appId, List<Locked> locked, ConversationMemories memories, Tally rows)
            throws SQLException {
        deleteLocked(handle, appId, locked, memories, Keeping.ALL, rows);
    }

    private static void deleteLocked(Handle handle, long appId, List<Locked> locked, ConversationMemories memories, Keeping keeping,
                                     Tally rows) throws SQLException {
        if (locked.isEmpty()) {
            return;
        }
        var ids = ids(handle, locked.stream().map(Locked::conversationId).toList());
        if (memories == ConversationMemories.KEEP) {
            handle.first(UNLINK_MEMORIES.bind("app_id", appId).bind("conversation_ids", ids)
                            .bind("except_user_id", keeping.exceptUser()).bind("except_character_id", keeping.exceptCharacter()),
                    row -> rows.add("memories_unlinked", row.getLong(1)));
        } else {
            handle.first(DELETE_MEMORIES_OF_CONVERSATIONS, row -> rows.add("memories", row.getLong(1)), appId, ids);
        }
        handle.first(DELETE_CONVERSATIONS.bind("app_id", appId).bind("conversation_ids", ids), row -> {
            rows.add("conversations", row.getLong(1));
            rows.add("messages", row.getLong(2));
            rows.add("memberships", row.getLong(3));
            rows.add("idempotency_keys", row.getLong(4));
            return null;
        });
        rows.changed.addAll(locked);
    }

    private static void leaveGroups(Handle handle, long appId, long userId, List<Locked> locked, Tally rows)
            throws SQLException {
        if (locked.isEmpty()) {
            return;
        }
        var ids = ids(handle, locked.stream().map(Locked::conversationId).toList());
        List<MessageLog.Removed> lastGone = handle.first(LEAVE_GROUPS.bind("app_id", appId).bind("conversation_ids", ids)
                .bind("user_id", userId), row -> {
            rows.add("messages", row.getLong(1));
            rows.add("idempotency_keys", row.getLong(2));
            rows.add("memberships", row.getLong(3));
            return MessageLog.Removed.of(appId, (Long[]) row.getArray(4).getArray(), (Long[]) row.getArray(5).getArray());
        }).orElseThrow();
        MessageLog.replaceLastMessages(handle, lastGone);
        rows.changed.addAll(locked);
    }

    private Erased audit(Handle handle, long appId, String subject, long id, String requestedBy, Tally rows) throws SQLException {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        long erasureId = handle.first(AUDIT, row -> row.getLong(1), appId, Timestamp.from(now), subject, id, requestedBy,
                Json.write(rows.counts)).orElseThrow();
        return new Erased(subject, id, erasureId, now, Collections.unmodifiableMap(new LinkedHashMap<>(rows.counts)));
    }

    private static java.sql.Array ids(Handle handle, List<Long> ids) throws SQLException {
        return handle.array("bigint", ids.toArray(Long[]::new));
    }

    /** Rows erased, by kind (every kind the subject has, 0 when none); and the conversations whose cached views are still to drop. */
    private static final class Tally {
        final Map<String, Long> counts = new LinkedHashMap<>();
        final List<Locked> changed = new ArrayList<>();

        Tally(String... kinds) {
            for (String kind : kinds) {
                counts.put(kind, 0L);
            }
        }

        Long add(String kind, long rows) {
            return counts.merge(kind, rows, Long::sum);
        }
    }
}
