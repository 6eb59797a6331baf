package dev.parley.lifecycle;

import dev.parley.chat.MessageLog;
import dev.parley.db.Database;
import dev.parley.db.Handle;
import dev.parley.db.Ids;
import dev.parley.db.NamedQuery;
import dev.parley.db.Partitions;
import dev.parley.db.Query;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-app retention: an app that keeps its messages for N days ({@code apps.message_retention_days})
 * loses the older ones at the next round (daily, with maintenance, or {@code parley retention apply}).
 *
 * <p>A whole month goes at once when every app with messages in it allows: its partition is detached
 * without blocking anyone and moved to {@value Partitions#RETIRED} ({@link Partitions#move}),
 * its conversations' counts are made right a batch at a time, and it is dropped. Months go oldest first,
 * and only while each allows, so the months left stay one unbroken range; the catch-all partition for
 * older rows then reaches up to where they begin. What a month held for apps that keep it longer, or
 * for ever, stays: the rest of an app's older messages are deleted in batches of {@link #batchRows}
 * rows, each its own short transaction, walking the app's messages in key order so no batch reads the
 * rows the previous one deleted. Every deletion keeps conversations' message counts exact, drops the
 * idempotency keys of the messages that went, and hands a conversation whose last message went to the
 * newest one left, or none, as a hard delete does.
 */
public final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);
    public static final int MAX_DAYS = 36_500;
    static final int RECOUNT_BATCH = 500;

    /**
     * What one round did: the months dropped whole (and their rows), and the rows deleted in batches, by app;
     * {@code skipped} when it did nothing because another round held the lock ({@link RoundLock}).
     */
    public record Applied(List<String> partitionsDropped, long rowsDropped, Map<Long, Long> rowsDeletedByApp, int batches,
                          boolean skipped) {
        public Applied(List<String> partitionsDropped, long rowsDropped, Map<Long, Long> rowsDeletedByApp, int batches) {
            this(partitionsDropped, rowsDropped, rowsDeletedByApp, batches, false);
        }

        public long rowsDeleted() {
            return rowsDeletedByApp.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private record Policy(long appId, int days) {
    }

    /** Rows deleted per batch transaction when a month cannot go whole. */
    public static final int BATCH_ROWS = 5_000;

    static final Query GET = new Query("retention.get", "SELECT message_retention_days FROM apps WHERE app_id = ?");
    static final Query SET = new Query("retention.set", "UPDATE apps SET message_retention_days = ? WHERE app_id = ?");
    static final Query POLICIES = new Query("retention.policies", """
            SELECT app_id, message_retention_days FROM apps WHERE message_retention_days IS NOT NULL ORDER BY app_id""");
    // An archived month detached for retention; a crash may have left it before it moved on.
    static final Query DETACHED_ARCHIVES = new Query("retention.detached_archives", """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = '%s' AND c.relkind = 'r' AND NOT c.relispartition ORDER BY c.relname""".formatted(Archive.SCHEMA));
    static final Query RETIRED_TABLES = new Query("retention.retired_tables", """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = '%s' AND c.relkind = 'r' ORDER BY c.relname""".formatted(Partitions.RETIRED));

    // Walks the app's older messages in (conversation, message) order from where the last batch ended. Names the
    // conversations whose last message went (their ids and that message's) for MessageLog.replaceLastMessages.
    private static final String DELETE_BATCH_FROM = """
            WITH doomed AS (
                    SELECT conversation_id, message_id FROM %1$s
                     WHERE app_id = :app_id AND message_id < :cutoff_id
                       AND (conversation_id, message_id) > (:after_conversation_id, :after_message_id)
                     ORDER BY conversation_id, message_id
                     LIMIT :batch_rows),
                 gone AS (
                    DELETE FROM %1$s m USING doomed d
                     WHERE m.app_id = :app_id AND m.conversation_id = d.conversation_id AND m.message_id = d.message_id
                    RETURNING m.conversation_id, m.message_id, m.seq),
                 keys_gone AS (
                    DELETE FROM message_idempotency_keys k USING gone g
                     WHERE k.app_id = :app_id AND k.conversation_id = g.conversation_id AND k.message_id = g.message_id),
                 recount AS (
                    UPDATE conversations c
                       SET message_count = c.message_count - n.messages, expired_seq = greatest(c.expired_seq, n.last_seq)
                      FROM (SELECT conversation_id, count(*) AS messages, array_agg(message_id) AS ids, max(seq) AS last_seq
                              FROM gone GROUP BY conversation_id) n
                     WHERE c.app_id = :app_id AND c.conversation_id = n.conversation_id
                    RETURNING c.conversation_id, c.last_message_id, c.last_message_id = ANY(n.ids) AS last_gone)
            SELECT (SELECT count(*) FROM gone), last.conversation_id, last.message_id,
                   ARRAY(SELECT conversation_id FROM recount WHERE last_gone), ARRAY(SELECT last_message_id FROM recount WHERE last_gone)
              FROM (SELECT conversation_id, message_id FROM doomed ORDER BY conversation_id DESC, message_id DESC LIMIT 1) last""";
    static final NamedQuery DELETE_BATCH = NamedQuery.of("retention.delete_batch", DELETE_BATCH_FROM.formatted("messages"));
    static final NamedQuery DELETE_ARCHIVED_BATCH = NamedQuery.of("retention.delete_archived_batch",
            DELETE_BATCH_FROM.formatted(Partitions.ARCHIVE));

    private final Database requests;
    private final Database database;
    private final Database sessions;
    private final Partitions partitions;
    private final Clock clock;
    private final int batchRows;

    /** {@code sessions} holds the round's lock ({@link RoundLock}): {@code database} itself, unless that goes through PgBouncer. */
    public Retention(Database database, Database sessions, Partitions partitions, Clock clock, int batchRows) {
        this(database, database, sessions, partitions, clock, batchRows);
    }

    /**
     * An app's policy is read and set over {@code requests}, under the request limits; rounds run over {@code database},
     * a pool without them: a round's batches may wait on rows that requests hold.
     */
    public Retention(Database requests, Database database, Database sessions, Partitions partitions, Clock clock, int batchRows) {
        this.requests = requests;
        this.database = database;
        this.sessions = sessions;
        this.partitions = partitions;
        this.clock = clock;
        this.batchRows = batchRows;
    }

    /** How many days the app keeps its messages; empty: for ever. */
    public OptionalInt days(long appId) {
        return requests.read(handle -> handle.first(GET, row -> {
            int days = row.getInt(1);
            return row.wasNull() ? OptionalInt.empty() : OptionalInt.of(days);
        }, appId)).orElseThrow();
    }

    /** Keeps the app's messages {@code days} days (null: for ever), from the next round on. */
    public void setDays(long appId, Integer days) {
        if (days != null && (days < 1 || days > MAX_DAYS)) {
            throw new IllegalArgumentException("days must be between 1 and " + MAX_DAYS + ", got " + days);
        }
        requests.read(handle -> handle.execute(SET, days, appId));
    }

    /** The oldest message id the app keeps now, under a policy of {@code days}. */
    private long cutoff(int days) {
        return Ids.floorOf(clock.instant().minus(Duration.ofDays(days)));
    }

    /**
     * One round, unless another instance is running one of retention or archiving (then nothing, at once):
     * what a crash left half done, then whole months, then batches ({@link RoundLock}).
     */
    public Applied apply() {
        return RoundLock.exclusively(sessions, "retention", this::round, new Applied(List.of(), 0, Map.of(), 0, true));
    }

    private Applied round() {
        partitions.finishMoves(Partitions.RETIRED);
        retireDetachedArchives();
        var dropped = new ArrayList<String>();
        long rowsDropped = finishRetired(dropped);
        List<Policy> policies = database.read(handle -> handle.list(POLICIES, row -> new Policy(row.getLong(1), row.getInt(2))));
        if (policies.isEmpty()) {
            return new Applied(dropped, rowsDropped, Map.of(), 0);
        }
        Optional<String> hotDefault = defaultPartition(Partitions.HOT);
        Optional<String> archivedDefault = defaultPartition(Partitions.ARCHIVE);
        for (Partitions.Partition month : hotDefault.isPresent() ? List.<Partitions.Partition>of() : partitions.list()) {
            if (month.isCatchAll() || !allowsDropping(month.name(), month, policies)) {
                if (!month.name().equals(Partitions.BEFORE)) {
                    break; // only the oldest months go, so the months left stay one unbroken range
                }
                continue;
            }
            partitions.move(month.name(), Partitions.RETIRED);
            partitions.widenBefore(month); // over gaps, not across the archive's months, whose range takes no writes
            rowsDropped += finishRetired(dropped);
        }
        for (Partitions.Partition month : archivedDefault.isPresent() ? List.<Partitions.Partition>of() : partitions.listArchived()) {
            if (!allowsDropping(Archive.SCHEMA + "." + month.name(), month, policies)) {
                break;
            }
            database.read(handle -> {
                Partitions.detachConcurrently(handle, Partitions.ARCHIVE, month.name());
                return null;
            });
            retireDetachedArchives();
            rowsDropped += finishRetired(dropped);
        }
        var deleted = new LinkedHashMap<Long, Long>();
        int batches = 0;
        for (Policy policy : policies) {
            // The archive's older months first, so that each batch takes a conversation's oldest messages left (expired_seq).
            Deleted archived = deleteInBatches(DELETE_ARCHIVED_BATCH, policy);
            Deleted hot = deleteInBatches(DELETE_BATCH, policy);
            batches += archived.batches() + hot.batches();
            if (archived.rows() + hot.rows() > 0) {
                deleted.put(policy.appId(), archived.rows() + hot.rows());
            }
        }
        var applied = new Applied(dropped, rowsDropped, deleted, batches);
        if (!dropped.isEmpty() || applied.rowsDeleted() > 0) {
            LOG.info("retention: dropped {} month(s) {} ({} rows), deleted {} older message(s) of {} app(s) in {} batch(es)",
                    dropped.size(), dropped, rowsDropped, applied.rowsDeleted(), deleted.size(), batches);
        }
        return applied;
    }

    /**
     * The DEFAULT partition an operator attached to {@code parent}, if any, said in the log: PostgreSQL detaches no
     * partition concurrently beside one, so none of the parent's months is dropped whole while it is there, and their
     * old messages go in batches.
     */
    private Optional<String> defaultPartition(String parent) {
        Optional<String> found = partitions.defaultPartition(parent);
        found.ifPresent(name -> LOG.warn("retention: {}: its months are not dropped whole, their old messages go in "
                + "batches; move its rows out and drop it ('parley doctor' reports them)", Partitions.besideDefault(parent, name)));
        return found;
    }

    /** Moves archived months detached from the archive (by a round, or one a crash cut short) to where retired months are finished. */
    private void retireDetachedArchives() {
        database.read(handle -> {
            for (String table : handle.list(DETACHED_ARCHIVES, row -> row.getString(1))) {
                handle.execute(new Query("retention.retire_archived", "ALTER TABLE " + Archive.SCHEMA + "." + table
                        + " SET SCHEMA " + Partitions.RETIRED));
            }
            return null;
        });
    }

    /** How many rows a policy's batched deletes took from one table, in how many batches. */
    private record Deleted(long rows, int batches) {
    }

    /** The app's messages older than its policy, from {@code statement}'s table, in batches. */
    private Deleted deleteInBatches(NamedQuery statement, Policy policy) {
        long cutoff = cutoff(policy.days());
        Batch last = Batch.START;
        long rows = 0;
        int batches = 0;
        while (true) {
            Batch after = last;
            Batch batch = database.inTransaction(handle -> {
                Batch deleted = handle.first(statement.bind("app_id", policy.appId()).bind("cutoff_id", cutoff)
                                .bind("after_conversation_id", after.lastConversationId()).bind("after_message_id", after.lastMessageId())
                                .bind("batch_rows", batchRows),
                        row -> new Batch(row.getLong(1), row.getLong(2), row.getLong(3), MessageLog.Removed.of(policy.appId(),
                                (Long[]) row.getArray(4).getArray(), (Long[]) row.getArray(5).getArray())))
                        .orElse(Batch.NONE);
                MessageLog.replaceLastMessages(handle, deleted.lastGone());
                return deleted;
            });
            if (batch.rows() == 0) {
                return new Deleted(rows, batches);
            }
            batches++;
            rows += batch.rows();
            last = batch;
        }
    }

    /** What one batch deleted: how many rows, the key it ended at, and the last messages of conversations among them. */
    private record Batch(long rows, long lastConversationId, long lastMessageId, List<MessageLog.Removed> lastGone) {
        static final Batch NONE = new Batch(0, 0, 0, List.of());
        /** Where the first batch starts: before every key. */
        static final Batch START = new Batch(0, Long.MIN_VALUE, Long.MIN_VALUE, List.of());
    }

    /** Whether every app with messages in {@code month} (the table {@code table}) keeps them for less time than has passed since it ended. */
    private boolean allowsDropping(String table, Partitions.Partition month, List<Policy> policies) {
        List<Long> appsInIt = database.read(handle -> handle.list(new Query("retention.apps_in_month",
                "SELECT a.app_id FROM apps a WHERE EXISTS (SELECT 1 FROM " + table + " m WHERE m.app_id = a.app_id)"),
                row -> row.getLong(1)));
        Map<Long, Integer> days = new LinkedHashMap<>();
        policies.forEach(p -> days.put(p.appId(), p.days()));
        if (appsInIt.isEmpty()) { // an empty month goes once it is past some app's retention: never one made ahead
            return policies.stream().anyMatch(p -> month.toId() <= cutoff(p.days()));
        }
        return appsInIt.stream().allMatch(app -> days.containsKey(app) && month.toId() <= cutoff(days.get(app)));
    }

    /**
     * Finishes each month waiting in {@value Partitions#RETIRED}: makes the counts of the conversations it held
     * right (recounted under their row locks, so a crash and a second pass do no harm), drops its idempotency
     * keys, then the month itself. Returns the rows dropped.
     */
    private long finishRetired(List<String> dropped) {
        long rows = 0;
        for (String table : database.read(handle -> handle.list(RETIRED_TABLES, row -> row.getString(1)))) {
            String retired = Partitions.RETIRED + "." + table;
            rows += database.read(handle -> handle.first(new Query("retention.count_retired", "SELECT count(*) FROM " + retired),
                    row -> row.getLong(1)).orElse(0L));
            IdRange bounds = database.read(handle -> handle.first(new Query("retention.retired_bounds",
                    "SELECT min(message_id), max(message_id) FROM " + retired), row -> new IdRange(row.getLong(1), row.getLong(2)))
                    .orElseThrow());
            RetiredConversation after = new RetiredConversation(Long.MIN_VALUE, Long.MIN_VALUE);
            while (true) {
                RetiredConversation from = after;
                List<RetiredConversation> batch = database.read(handle -> handle.list(new Query("retention.retired_conversations", """
                        SELECT DISTINCT app_id, conversation_id FROM %s WHERE (app_id, conversation_id) > (?, ?)
                         ORDER BY app_id, conversation_id LIMIT ?""".formatted(retired)),
                        row -> new RetiredConversation(row.getLong(1), row.getLong(2)), from.appId(), from.conversationId(),
                        RECOUNT_BATCH));
                if (batch.isEmpty()) {
                    break;
                }
                database.inTransaction(handle -> {
                    recount(handle, batch, bounds);
                    return null;
                });
                after = batch.getLast();
            }
            database.read(handle -> handle.execute(new Query("retention.drop_keys_of_retired",
                    "DELETE FROM message_idempotency_keys WHERE message_id BETWEEN ? AND ?"), bounds.lowest(), bounds.highest()));
            database.read(handle -> handle.execute(new Query("retention.drop_retired", "DROP TABLE " + retired)));
            dropped.add(table);
        }
        return rows;
    }

    static final Query LOCK_CONVERSATIONS = new Query("retention.lock_conversations", """
            SELECT 1 FROM conversations c JOIN unnest(?::bigint[], ?::bigint[]) AS t(app_id, conversation_id)
                ON c.app_id = t.app_id AND c.conversation_id = t.conversation_id
             ORDER BY c.app_id, c.conversation_id FOR UPDATE OF c""");

    // After the locks, as its own statement: it counts what every append committed before them. Everything
    // before the first message left is gone (retention takes the oldest), or all of it when none is: unread counts
    // start after it. Returns the conversations whose last message was in the retired month, for
    // MessageLog.replaceLastMessages.
    static final Query RECOUNT = new Query("retention.recount", """
            WITH recounted AS (
                    UPDATE conversations c
                       SET message_count = (SELECT count(*) FROM messages m
                                             WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id)
                                         + (SELECT count(*) FROM parley_archive.messages m
                                             WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id),
                           expired_seq = greatest(c.expired_seq, coalesce(least(
                                   (SELECT m.seq FROM messages m WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                                     ORDER BY m.message_id LIMIT 1),
                                   (SELECT m.seq FROM parley_archive.messages m
                                     WHERE m.app_id = c.app_id AND m.conversation_id = c.conversation_id
                                     ORDER BY m.message_id LIMIT 1)) - 1, c.last_seq))
                      FROM unnest(?::bigint[], ?::bigint[]) AS t(app_id, conversation_id)
                     WHERE c.app_id = t.app_id AND c.conversation_id = t.conversation_id
                    RETURNING c.app_id, c.conversation_id, c.last_message_id)
            SELECT app_id, conversation_id, last_message_id FROM recounted WHERE last_message_id BETWEEN ? AND ?""");

    private static void recount(Handle handle, List<RetiredConversation> conversations, IdRange retired) throws SQLException {
        var apps = handle.array("bigint", conversations.stream().map(RetiredConversation::appId).toArray(Long[]::new));
        var ids = handle.array("bigint", conversations.stream().map(RetiredConversation::conversationId).toArray(Long[]::new));
        handle.list(LOCK_CONVERSATIONS, row -> null, apps, ids);
        MessageLog.replaceLastMessages(handle, handle.list(RECOUNT, row -> new MessageLog.Removed(row.getLong(1), row.getLong(2),
                row.getLong(3)), apps, ids, retired.lowest(), retired.highest()));
    }

    /** The ids a retired month's messages span, both ends included. */
    private record IdRange(long lowest, long highest) {
    }

    /** A conversation with messages in a retired month: its count and newest message are worked out again. */
    private record RetiredConversation(long appId, long conversationId) {
    }

    /** The time before which {@code days} of retention delete messages now: for reports. */
    public Instant cutoffTime(int days) {
        return clock.instant().minus(Duration.ofDays(days)).truncatedTo(ChronoUnit.MILLIS);
    }
}
