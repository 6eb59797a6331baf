package dev.parley.chat;

import dev.parley.chat.GroupCommit.Appended;
import dev.parley.cache.ReadCache;
import dev.parley.db.Database;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToLongFunction;

/**
 * What one group-commit batch does, in one transaction: lock the batch's conversations, find the
 * idempotency replays and reply parents, then in one statement insert the messages and their keys
 * and advance the conversations and the authors' read markers. {@link GroupCommit} decides what goes
 * into a batch and answers the callers.
 *
 * <p>Every statement runs on a generic plan. With custom plans PostgreSQL planned the lock and the
 * updates again in every batch (0.8 ms of the 1.9 ms its statements took): a custom plan that knows
 * how long the arrays are always looks cheaper than the generic one, so the plan cache never
 * switches.
 *
 * <p>A batch is two round trips: the settings travel with the lock, and the COMMIT with the write (pgjdbc
 * sends statements joined by ';' together and waits once); one more each when a message carries an
 * idempotency key or replies to another. With four, each round trip a wake-up of the writer and of its
 * backend, a batch at half the closed-loop rate spent more of its time waiting for one of the two cores than
 * working (docs/benchmarks.md, "Two round trips a batch").
 *
 * <p>A unit that fails validation (unknown conversation, bad reply_to_id ...) is refused and adds no
 * rows; the other units of the batch are written all the same.
 */
public final class BatchWriter {
    // And names the change's origin: the batch marks every conversation and inbox its notices name (see write).
    static final Query GENERIC_PLANS = Query.genericPlansFrom("append");

    // Locks the conversations in one order (app, id) so concurrent writers cannot deadlock.
    static final Query LOCK_CONVERSATIONS = new Query("append.lock_conversations", """
            SELECT c.app_id, c.conversation_id, c.user_id, c.character_id, c.last_seq, c.language::text AS language,
                   coalesce(c.last_message_id, c.conversation_id) AS floor_id,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'character') AS character_ids,
                   ARRAY(SELECT m.member_id FROM conversation_members m
                          WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                            AND m.member_kind = 'user' AND m.guest) AS guest_ids
              FROM conversations c
              JOIN unnest(?::bigint[], ?::bigint[]) AS k(app_id, conversation_id)
                ON c.app_id = k.app_id AND c.conversation_id = k.conversation_id
             ORDER BY c.app_id, c.conversation_id
               FOR UPDATE OF c""");

    // A conversation's members read again once its lock is held, in a statement of their own: LOCK_CONVERSATIONS lists
    // them from the snapshot it took before it waited for the lock, so a guest or a character taken out meanwhile
    // (DELETE of the member, an erasure, a character's deletion) was still listed, and their message was written after
    // they had left. Only for a batch with a message whose author is not the conversation's own user or character.
    static final Query MEMBERS_NOW = new Query("append.members_now", """
            SELECT m.app_id, m.conversation_id, m.member_kind, m.member_id FROM conversation_members m
              JOIN unnest(?::bigint[], ?::bigint[]) AS k(app_id, conversation_id)
                ON m.app_id = k.app_id AND m.conversation_id = k.conversation_id
             WHERE m.member_kind = 'character' OR m.guest""");

    public static final Query FIND_REPLAYS = new Query("append.find_replays", """
            SELECT k.app_id AS key_app_id, k.conversation_id AS key_conversation_id, k.idempotency_key,
                   encode(k.request_hash, 'hex') AS request_hash, k.message_id AS key_message_id,
                   %s
              FROM unnest(?::bigint[], ?::bigint[], ?::text[]) AS w(app_id, conversation_id, idempotency_key)
              JOIN message_idempotency_keys k
                ON k.app_id = w.app_id AND k.conversation_id = w.conversation_id AND k.idempotency_key = w.idempotency_key
              LEFT JOIN LATERAL (%s) m ON true""".formatted(MessageLog.COLUMNS.replaceAll("(\\w+)", "m.$1"),
            hotOrArchived(MessageLog.COLUMNS, "k")));

    public static final Query FIND_PARENTS = new Query("append.find_reply_parents", """
            SELECT p.app_id, p.conversation_id, p.message_id
              FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS p(app_id, conversation_id, message_id)
             WHERE EXISTS (%s)""".formatted(hotOrArchived("1", "p")));

    /**
     * The message {@code key.message_id} of {@code key}'s conversation, hot or, failing that, archived (docs/operations.md,
     * "Archive"): a reply may answer an archived message, and a retry may find its message's month archived since.
     * The archive is asked only when the hot months lack it; a month being moved is in both, and taken once.
     */
    private static String hotOrArchived(String columns, String key) {
        String where = " WHERE app_id = %1$s.app_id AND conversation_id = %1$s.conversation_id AND message_id = %1$s.message_id"
                .formatted(key);
        return "SELECT " + columns + " FROM messages" + where
                + " UNION ALL SELECT " + columns + " FROM " + Partitions.ARCHIVE + where + " LIMIT 1";
    }

    // Everything a batch changes, in one statement: the statements in WITH all run, to completion. It fails unless it
    // inserted every message it was given (its last parameter, V30), as its COMMIT follows in the same round trip.
    // user_id and language are the conversation's, as locked: search indexes them with the words.
    // Whoever writes a message has read everything up to it: own messages never count as unread.
    static final Query WRITE = new Query("append.write", """
            WITH inserted AS (
                INSERT INTO messages (app_id, conversation_id, message_id, seq, reply_to_id, author_user_id,
                                      author_character_id, created_at, role, content, metadata, attachments, user_id, language)
                SELECT app_id, conversation_id, message_id, seq, reply_to_id, author_user_id,
                       author_character_id, parley_id_time(message_id), role, content, metadata::jsonb, attachments::jsonb,
                       user_id, language::regconfig
                  FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[],
                              ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])
                       AS t(app_id, conversation_id, message_id, seq, reply_to_id, author_user_id, author_character_id,
                            role, content, metadata, attachments, user_id, language)
                RETURNING 1
            ), keyed AS (
                INSERT INTO message_idempotency_keys (app_id, conversation_id, idempotency_key, request_hash, message_id)
                SELECT app_id, conversation_id, idempotency_key, decode(request_hash, 'hex'), message_id
                  FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[])
                       AS t(app_id, conversation_id, idempotency_key, request_hash, message_id)
            ), advanced AS (
                UPDATE conversations c
                   SET last_seq = t.last_seq,
                       message_count = c.message_count + t.added,
                       last_message_id = t.last_message_id,
                       activity_id = t.last_message_id,
                       last_message_role = t.role,
                       last_message_preview = t.preview,
                       last_activity_at = parley_id_time(t.last_message_id),
                       updated_at = now()
                  FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[])
                       AS t(app_id, conversation_id, last_seq, added, last_message_id, role, preview)
                 WHERE c.app_id = t.app_id AND c.conversation_id = t.conversation_id
            ), read_up_to_own AS (
                UPDATE conversation_members mb
                   SET read_seq = greatest(mb.read_seq, t.seq), read_at = now()
                  FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::bigint[])
                       AS t(app_id, conversation_id, member_kind, member_id, seq)
                 WHERE mb.app_id = t.app_id AND mb.conversation_id = t.conversation_id
                   AND mb.member_kind = t.member_kind AND mb.member_id = t.member_id
            )
            SELECT parley_all_inserted(count(*), ?) FROM inserted""");

    /** What a new pooled connection plans before its first request ({@code dev.parley.db.WarmConnections}). */
    public static final List<Query> PLANNED_AHEAD = List.of(LOCK_CONVERSATIONS, WRITE);

    /**
     * One caller's messages to one conversation: they commit together or not at all. {@code batch}: the request
     * was a batch, whose refusals name a message by its place ({@code messages[0].}), however many it holds.
     */
    record Unit(long appId, long conversationId, List<NewMessage> messages, boolean batch) {
    }

    /** What became of one unit: its messages, or the reason it was refused (exactly one of the two is set). */
    record Outcome(List<Appended> appended, RuntimeException refused) {
    }

    /** A batch as planned: each unit's outcome, the conversations that get messages, and the rows to write. */
    private record Planned(List<Outcome> outcomes, List<LockedConversation> moved, Rows rows) {
    }

    private final Database database;
    private final Ids ids;
    private final ReadCache cache;
    private final Partitions partitions;

    public BatchWriter(Database database, Ids ids, ReadCache cache) {
        this(database, ids, cache, new Partitions(database));
    }

    /** {@code partitions}: the process's own, which retention widens too, so imports see at once what it took out. */
    public BatchWriter(Database database, Ids ids, ReadCache cache, Partitions partitions) {
        this.database = database;
        this.ids = ids;
        this.cache = cache;
        this.partitions = partitions;
    }

    /**
     * Writes the batch in one transaction; returns, in batch order, each unit's messages or its refusal.
     * Throws {@link GroupCommit.AppendNotConfirmed} if the connection broke during the write and COMMIT: the batch may
     * or may not be stored.
     */
    List<Outcome> write(List<Unit> batch) {
        try {
            return writeOnce(batch);
        } catch (MonthsToMake wanted) {
            partitions.ensureCovers(wanted.times);
            return writeOnce(batch); // the months are made and seen now, so its plan finds them
        }
    }

    private List<Outcome> writeOnce(List<Unit> batch) {
        var committing = new AtomicBoolean();
        // Closed before anyone is answered, so a 201 is followed by reads that include it (read-your-writes).
        try (ReadCache.Changing change = cache.changing()) {
            Planned planned = database.inTransaction(handle -> {
                Planned all = lockAndPlan(handle, batch, change.origin());
                List<Instant> unmade = monthsToMake(batch, all.outcomes());
                if (!unmade.isEmpty()) {
                    throw new MonthsToMake(unmade); // rolled back, nothing written: made outside, then planned again
                }
                change.mark(all.moved().stream().flatMap(c -> ReadCache.conversationScopes(c.key.appId(),
                        c.key.conversationId(), c.userId, c.guestIds).stream()).toList());
                committing.set(true); // the COMMIT goes with the write: from here on a broken connection leaves it unknown
                all.rows().writeAndCommit(handle, all.moved());
                return all;
            });
            return planned.outcomes();
        } catch (DatabaseUnavailable lost) {
            if (committing.get()) {
                throw new GroupCommit.AppendNotConfirmed(lost);
            }
            throw lost; // lost before the write and COMMIT were sent: PostgreSQL rolled the transaction back
        }
    }

    /**
     * One caller's messages in a transaction of their own, on the caller's thread: an append as a design without
     * group commit makes it, one commit per request (the bench's "single" target compares the two). A refusal names
     * the message by its place, as a batch's does.
     */
    public List<Appended> writeAlone(long appId, long conversationId, List<NewMessage> messages) {
        Outcome outcome = write(List.of(new Unit(appId, conversationId, messages, true))).getFirst();
        if (outcome.refused() != null) {
            throw outcome.refused();
        }
        return outcome.appended();
    }

    /**
     * The original times of the accepted messages whose month has no partition yet, as last seen. Such a message would
     * land in a catch-all (older or newer than every month made so far) or find none (a gap between months), so its
     * month is made first, outside the batch's transaction (a partition is DDL under a lock), and only for a message
     * about to be written: a refused one (an unknown conversation, a time out of order) makes no month, which an
     * archive run would then take as archived and closed to imports. The check costs no statement.
     */
    private List<Instant> monthsToMake(List<Unit> batch, List<Outcome> outcomes) {
        List<Instant> times = new ArrayList<>();
        for (int u = 0; u < batch.size(); u++) {
            List<Appended> appended = outcomes.get(u).appended();
            for (int m = 0; appended != null && m < appended.size(); m++) {
                Instant original = batch.get(u).messages().get(m).createdAt();
                if (original != null && !appended.get(m).replayed()) {
                    times.add(original);
                }
            }
        }
        return partitions.covers(times) ? List.of() : times;
    }

    /** A batch planned with messages of months that have no partition yet: nothing was written. */
    private static final class MonthsToMake extends RuntimeException {
        final List<Instant> times;

        MonthsToMake(List<Instant> times) {
            super("months to make first", null, false, false);
            this.times = times;
        }
    }

    /** Locks the batch's conversations and validates each unit against them; nothing is written yet. */
    private Planned lockAndPlan(Handle handle, List<Unit> batch, String origin) throws SQLException {
        Map<ConversationKey, LockedConversation> locked = lock(handle, batch, origin);
        Map<ReplayKey, Replay> replays = findReplays(handle, batch);
        Map<ConversationKey, Set<Long>> parents = findParents(handle, batch);
        var rows = new Rows();
        List<Outcome> outcomes = new ArrayList<>();
        for (Unit unit : batch) {
            try {
                outcomes.add(new Outcome(plan(handle, unit, locked, replays, parents, rows), null));
            } catch (NotFound | InvalidInput | Conflict refused) {
                outcomes.add(new Outcome(null, refused));
            }
        }
        List<LockedConversation> moved = locked.values().stream().filter(c -> c.added > 0).toList();
        return new Planned(outcomes, moved, rows);
    }

    /** Validates one unit against the locked state and adds its rows; nothing is added if it is rejected. */
    private List<Appended> plan(Handle handle, Unit unit, Map<ConversationKey, LockedConversation> locked,
                                Map<ReplayKey, Replay> replays, Map<ConversationKey, Set<Long>> parents,
                                Rows rows) throws SQLException {
        var key = new ConversationKey(unit.appId(), unit.conversationId());
        LockedConversation conversation = locked.get(key);
        if (conversation == null) {
            throw new NotFound("conversation", unit.conversationId());
        }
        for (NewMessage message : unit.messages()) {
            if (message.createdAt() != null && partitions.archived(message.createdAt())) {
                throw new Conflict("month-archived", "created_at " + message.createdAt() + " falls in an archived month "
                        + "(or one dropped from the archive), and archived months are read-only; their messages cannot be added to");
            }
        }
        List<NewMessage> fresh = new ArrayList<>();
        List<String> freshFields = new ArrayList<>(); // each new message's field prefix, for refusals
        List<Appended> result = new ArrayList<>();
        Set<String> keysInUnit = new HashSet<>();
        for (int i = 0; i < unit.messages().size(); i++) {
            NewMessage message = unit.messages().get(i);
            String field = unit.batch() ? "messages[" + i + "]." : "";
            if (message.idempotencyKey() != null && !keysInUnit.add(message.idempotencyKey())) {
                throw new InvalidInput(field + "idempotency_key", "repeats a key used earlier in the same batch");
            }
            Message replayed = replayOf(key, message, replays);
            if (replayed != null) {
                result.add(new Appended(replayed, true));
                continue;
            }
            conversation.checkAuthor(message, field);
            if (message.replyToId() != null && !parents.getOrDefault(key, Set.of()).contains(message.replyToId())) {
                throw new InvalidInput(field + "reply_to_id", "is not a message of conversation " + unit.conversationId());
            }
            fresh.add(message);
            freshFields.add(field);
            result.add(null); // filled in below, once ids are drawn
        }
        long[] messageIds = idsFor(fresh, freshFields, conversation, handle);
        int next = 0;
        for (int i = 0; i < result.size(); i++) {
            if (result.get(i) != null) {
                continue;
            }
            NewMessage message = fresh.get(next);
            Message stored = conversation.accept(messageIds[next++], message);
            String fingerprint = message.idempotencyKey() == null ? null : message.fingerprint();
            rows.add(unit.appId(), conversation, stored, message.idempotencyKey(), fingerprint);
            result.set(i, new Appended(stored, false));
            if (fingerprint != null) {
                replays.put(new ReplayKey(key, message.idempotencyKey()), new Replay(fingerprint, stored));
            }
        }
        return result;
    }

    /**
     * Ids for a unit's new messages, increasing from the conversation's newest: drawn now, or at an
     * imported message's original time, which must then come after the messages before it.
     */
    private long[] idsFor(List<NewMessage> fresh, List<String> fields, LockedConversation conversation, Handle handle)
            throws SQLException {
        if (fresh.stream().allMatch(m -> m.createdAt() == null)) {
            return ids.next(fresh.size(), conversation.floorId, handle);
        }
        long[] drawn = new long[fresh.size()];
        long floor = conversation.floorId;
        for (int i = 0; i < fresh.size(); i++) {
            NewMessage message = fresh.get(i);
            if (message.createdAt() == null) {
                drawn[i] = ids.next(1, floor, handle)[0];
            } else {
                Long id = ids.at(message.createdAt(), floor, handle);
                if (id == null) {
                    throw new InvalidInput(fields.get(i) + "created_at", "is " + message.createdAt() + ", before the conversation's "
                            + "newest message or start (" + Ids.timeOf(floor) + "): import a conversation's messages oldest first");
                }
                drawn[i] = id;
            }
            floor = drawn[i];
        }
        return drawn;
    }

    /** The message an earlier attempt stored under this message's Idempotency-Key, or null if there is none. */
    private static Message replayOf(ConversationKey key, NewMessage message, Map<ReplayKey, Replay> replays) {
        if (message.idempotencyKey() == null) {
            return null;
        }
        Replay earlier = replays.get(new ReplayKey(key, message.idempotencyKey()));
        if (earlier == null) {
            return null;
        }
        if (!earlier.fingerprint().equals(message.fingerprint())) {
            throw new Conflict("idempotency-key-reused", "Idempotency-Key '" + message.idempotencyKey()
                    + "' was already used for a different message in this conversation");
        }
        if (earlier.message() == null) {
            throw new Conflict("idempotency-key-reused", "the message stored under Idempotency-Key '"
                    + message.idempotencyKey() + "' has since been deleted");
        }
        return earlier.message();
    }

    /** Locks the batch's conversations, with the transaction's settings ({@link #GENERIC_PLANS}) in the same round trip. */
    private static Map<ConversationKey, LockedConversation> lock(Handle handle, List<Unit> batch, String origin)
            throws SQLException {
        List<ConversationKey> keys = batch.stream().map(u -> new ConversationKey(u.appId(), u.conversationId()))
                .distinct().sorted(Comparator.comparingLong(ConversationKey::appId).thenComparingLong(ConversationKey::conversationId))
                .toList();
        Map<ConversationKey, LockedConversation> locked = new HashMap<>();
        handle.listAfter(GENERIC_PLANS, new Object[] {origin}, LOCK_CONVERSATIONS, row -> new LockedConversation(
                        new ConversationKey(row.getLong("app_id"), row.getLong("conversation_id")),
                        row.getLong("user_id"), row.getLong("character_id"), row.getString("language"), row.getLong("last_seq"),
                        row.getLong("floor_id"), Set.of((Long[]) row.getArray("character_ids").getArray()),
                        Set.of((Long[]) row.getArray("guest_ids").getArray())),
                handle.array("bigint", keys.stream().map(ConversationKey::appId).toArray(Long[]::new)),
                handle.array("bigint", keys.stream().map(ConversationKey::conversationId).toArray(Long[]::new)))
                .forEach(c -> locked.put(c.key, c));
        List<ConversationKey> byMembers = batch.stream().filter(unit -> {
            LockedConversation conversation = locked.get(new ConversationKey(unit.appId(), unit.conversationId()));
            return conversation != null && unit.messages().stream().anyMatch(m -> m.userId() != null && m.userId() != conversation.userId
                    || m.characterId() != null && m.characterId() != conversation.characterId);
        }).map(unit -> new ConversationKey(unit.appId(), unit.conversationId())).distinct().toList();
        if (!byMembers.isEmpty()) {
            byMembers.forEach(key -> locked.get(key).membersNow());
            handle.list(MEMBERS_NOW, row -> locked.get(new ConversationKey(row.getLong(1), row.getLong(2)))
                            .memberNow(row.getString(3), row.getLong(4)),
                    handle.array("bigint", byMembers.stream().map(ConversationKey::appId).toArray(Long[]::new)),
                    handle.array("bigint", byMembers.stream().map(ConversationKey::conversationId).toArray(Long[]::new)));
        }
        return locked;
    }

    private static Map<ReplayKey, Replay> findReplays(Handle handle, List<Unit> batch) throws SQLException {
        List<Long> apps = new ArrayList<>();
        List<Long> conversations = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (Unit unit : batch) {
            for (NewMessage message : unit.messages()) {
                if (message.idempotencyKey() != null) {
                    apps.add(unit.appId());
                    conversations.add(unit.conversationId());
                    keys.add(message.idempotencyKey());
                }
            }
        }
        Map<ReplayKey, Replay> found = new HashMap<>();
        if (keys.isEmpty()) {
            return found;
        }
        handle.list(FIND_REPLAYS, row -> {
            var key = new ReplayKey(new ConversationKey(row.getLong("key_app_id"), row.getLong("key_conversation_id")),
                    row.getString("idempotency_key"));
            row.getLong("message_id");
            Message message = row.wasNull() ? null : MessageLog.ROW.map(row); // null: hard-deleted since
            return found.put(key, new Replay(row.getString("request_hash"), message));
        }, handle.array("bigint", apps.toArray(Long[]::new)), handle.array("bigint", conversations.toArray(Long[]::new)),
                handle.array("text", keys.toArray(String[]::new)));
        return found;
    }

    private static Map<ConversationKey, Set<Long>> findParents(Handle handle, List<Unit> batch) throws SQLException {
        List<Long> apps = new ArrayList<>();
        List<Long> conversations = new ArrayList<>();
        List<Long> parentIds = new ArrayList<>();
        for (Unit unit : batch) {
            for (NewMessage message : unit.messages()) {
                if (message.replyToId() != null) {
                    apps.add(unit.appId());
                    conversations.add(unit.conversationId());
                    parentIds.add(message.replyToId());
                }
            }
        }
        Map<ConversationKey, Set<Long>> parents = new HashMap<>();
        if (parentIds.isEmpty()) {
            return parents;
        }
        handle.list(FIND_PARENTS, row -> {
            parents.computeIfAbsent(new ConversationKey(row.getLong(1), row.getLong(2)), k -> new HashSet<>())
                    .add(row.getLong(3));
            return null;
        }, handle.array("bigint", apps.toArray(Long[]::new)), handle.array("bigint", conversations.toArray(Long[]::new)),
                handle.array("bigint", parentIds.toArray(Long[]::new)));
        return parents;
    }

    /** A member who wrote a message: the user, or one character. */
    private record Author(String kind, long id) {
    }

    /** The seq up to which an author has read a conversation: their own last message in this batch. */
    private record ReadMark(ConversationKey conversation, Author author, long seq) {
    }

    private record ConversationKey(long appId, long conversationId) {
    }

    private record ReplayKey(ConversationKey conversation, String idempotencyKey) {
    }

    /** What is stored under an Idempotency-Key: the request's fingerprint and its message (null once deleted). */
    private record Replay(String fingerprint, Message message) {
    }

    /** A conversation as locked for this transaction; accepting a message moves its sequence and floor. */
    private static final class LockedConversation {
        final ConversationKey key;
        final long userId;
        final long characterId;
        final String language;
        // As LOCK_CONVERSATIONS read them; again under the lock for a batch a guest or another character writes in (MEMBERS_NOW).
        Set<Long> characterIds;
        Set<Long> guestIds;
        long lastSeq;
        long floorId;
        int added;
        String lastRole;
        String lastPreview;
        final Map<Author, Long> authorSeq = new HashMap<>();

        LockedConversation(ConversationKey key, long userId, long characterId, String language, long lastSeq, long floorId,
                           Set<Long> characterIds, Set<Long> guestIds) {
            this.key = key;
            this.userId = userId;
            this.language = language;
            this.characterId = characterId;
            this.lastSeq = lastSeq;
            this.floorId = floorId;
            this.characterIds = characterIds;
            this.guestIds = guestIds;
        }

        void membersNow() {
            characterIds = new HashSet<>();
            guestIds = new HashSet<>();
        }

        boolean memberNow(String kind, long id) {
            return ("character".equals(kind) ? characterIds : guestIds).add(id);
        }

        void checkAuthor(NewMessage message, String field) {
            if (message.userId() != null) {
                checkUserAuthor(message, field);
            }
            if (message.characterId() == null) {
                return;
            }
            if (message.role().equals("user")) {
                throw new InvalidInput(field + "character_id", "cannot be set on a message with role 'user'");
            }
            if (!characterIds.contains(message.characterId())) {
                throw new InvalidInput(field + "character_id", "refers to character " + message.characterId()
                        + ", which is not a member of conversation " + key.conversationId());
            }
        }

        /** A person named as author writes a user message and is the conversation's user or one of its guests. */
        private void checkUserAuthor(NewMessage message, String field) {
            if (message.characterId() != null) {
                throw new InvalidInput(field + "user_id", "cannot be given together with character_id");
            }
            if (!message.role().equals("user")) {
                throw new InvalidInput(field + "user_id", "can only be set on a message with role 'user', not '"
                        + message.role() + "'");
            }
            if (message.userId() != userId && !guestIds.contains(message.userId())) {
                throw new InvalidInput(field + "user_id", "refers to user " + message.userId()
                        + ", which is not a member of conversation " + key.conversationId());
            }
        }

        Message accept(long messageId, NewMessage message) {
            lastSeq++;
            added++;
            floorId = messageId;
            lastRole = message.role();
            lastPreview = Preview.stored(message.content());
            Long user = !message.role().equals("user") ? null : message.userId() != null ? message.userId() : userId;
            Long character = message.characterId() != null ? message.characterId()
                    : message.role().equals("assistant") ? characterId : null;
            if (user != null) {
                authorSeq.put(new Author("user", user), lastSeq);
            } else if (character != null) {
                authorSeq.put(new Author("character", character), lastSeq);
            }
            return new Message(messageId, key.conversationId(), lastSeq, message.role(), user, character,
                    message.content(), message.metadata(), message.attachments(), message.replyToId(),
                    Ids.timeOf(messageId), null, null);
        }
    }

    /** The column arrays of a batch's {@link #WRITE}: its new messages, their keys, the conversations they move. */
    private static final class Rows {
        final List<Long> apps = new ArrayList<>();
        final List<LockedConversation> conversations = new ArrayList<>();
        final List<Message> messages = new ArrayList<>();
        final List<String> keys = new ArrayList<>();
        final List<String> fingerprints = new ArrayList<>();

        void add(long appId, LockedConversation conversation, Message message, String idempotencyKey, String fingerprint) {
            apps.add(appId);
            conversations.add(conversation);
            messages.add(message);
            keys.add(idempotencyKey);
            fingerprints.add(fingerprint);
        }

        /**
         * Inserts the messages and keys, advances {@code moved}, the conversations that got messages, and commits, in one
         * round trip; with no message to write it leaves the commit to the transaction.
         */
        void writeAndCommit(Handle handle, List<LockedConversation> moved) throws SQLException {
            if (messages.isEmpty()) {
                return;
            }
            List<Object> args = new ArrayList<>(messageColumns(handle));
            args.addAll(keyColumns(handle));
            args.addAll(conversationColumns(handle, moved));
            args.addAll(readMarkColumns(handle, moved));
            args.add((long) messages.size());
            handle.listAndCommit(WRITE, row -> row.getLong(1), args.toArray());
        }

        private List<Array> messageColumns(Handle handle) throws SQLException {
            return List.of(handle.array("bigint", apps.toArray(Long[]::new)),
                    longs(handle, Message::conversationId), longs(handle, Message::id), longs(handle, Message::seq),
                    handle.array("bigint", messages.stream().map(Message::replyToId).toArray(Long[]::new)),
                    handle.array("bigint", messages.stream().map(Message::userId).toArray(Long[]::new)),
                    handle.array("bigint", messages.stream().map(Message::characterId).toArray(Long[]::new)),
                    handle.array("text", messages.stream().map(Message::role).toArray(String[]::new)),
                    handle.array("text", messages.stream().map(Message::content).toArray(String[]::new)),
                    handle.array("text", messages.stream().map(m -> m.metadata() == null ? null : m.metadata().toString()).toArray(String[]::new)),
                    handle.array("text", messages.stream().map(m -> m.attachments() == null ? null : m.attachments().toString()).toArray(String[]::new)),
                    handle.array("bigint", conversations.stream().map(c -> c.userId).toArray(Long[]::new)),
                    handle.array("text", conversations.stream().map(c -> c.language).toArray(String[]::new)));
        }

        private List<Array> keyColumns(Handle handle) throws SQLException {
            List<Integer> keyed = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                if (keys.get(i) != null) {
                    keyed.add(i);
                }
            }
            return List.of(handle.array("bigint", keyed.stream().map(apps::get).toArray(Long[]::new)),
                    handle.array("bigint", keyed.stream().map(i -> messages.get(i).conversationId()).toArray(Long[]::new)),
                    handle.array("text", keyed.stream().map(keys::get).toArray(String[]::new)),
                    handle.array("text", keyed.stream().map(fingerprints::get).toArray(String[]::new)),
                    handle.array("bigint", keyed.stream().map(i -> messages.get(i).id()).toArray(Long[]::new)));
        }

        private static List<Array> conversationColumns(Handle handle, List<LockedConversation> moved) throws SQLException {
            return List.of(handle.array("bigint", moved.stream().map(c -> c.key.appId()).toArray(Long[]::new)),
                    handle.array("bigint", moved.stream().map(c -> c.key.conversationId()).toArray(Long[]::new)),
                    handle.array("bigint", moved.stream().map(c -> c.lastSeq).toArray(Long[]::new)),
                    handle.array("bigint", moved.stream().map(c -> (long) c.added).toArray(Long[]::new)),
                    handle.array("bigint", moved.stream().map(c -> c.floorId).toArray(Long[]::new)),
                    handle.array("text", moved.stream().map(c -> c.lastRole).toArray(String[]::new)),
                    handle.array("text", moved.stream().map(c -> c.lastPreview).toArray(String[]::new)));
        }

        private static List<Array> readMarkColumns(Handle handle, List<LockedConversation> moved) throws SQLException {
            List<ReadMark> marks = moved.stream().flatMap(c -> c.authorSeq.entrySet().stream()
                    .map(a -> new ReadMark(c.key, a.getKey(), a.getValue()))).toList();
            return List.of(handle.array("bigint", marks.stream().map(m -> m.conversation().appId()).toArray(Long[]::new)),
                    handle.array("bigint", marks.stream().map(m -> m.conversation().conversationId()).toArray(Long[]::new)),
                    handle.array("text", marks.stream().map(m -> m.author().kind()).toArray(String[]::new)),
                    handle.array("bigint", marks.stream().map(m -> m.author().id()).toArray(Long[]::new)),
                    handle.array("bigint", marks.stream().map(ReadMark::seq).toArray(Long[]::new)));
        }

        private Array longs(Handle handle, ToLongFunction<Message> column) throws SQLException {
            return handle.array("bigint", messages.stream().map(m -> column.applyAsLong(m)).toArray(Long[]::new));
        }
    }
}
