package dev.parley.chat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.cache.ReadCache;
import dev.parley.cache.Scope;
import dev.parley.config.CounterFlush;
import dev.parley.config.Durations;
import dev.parley.db.Database;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.PoolSaturated;
import dev.parley.db.Query;
import dev.parley.db.RowMapper;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.math.BigInteger;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named counters (affection, XP) moved in memory and written to PostgreSQL behind the request. A
 * product moves them on every chat turn; an UPDATE each would make a few rows the hottest of the
 * database. A holder's (a conversation's or a user's) increments are written once it has taken
 * {@link CounterFlush#increments()} of them, or {@link CounterFlush#after()} after the first,
 * whichever comes first; one statement writes every holder due, and {@link #close} writes the rest.
 *
 * <p>This instance shows the running values at once: a holder's stored counters are read when its
 * first increment arrives, and each increment moves them here. Other instances show the stored
 * values, and the change once it is written and announced (V10). A crash loses what is not yet
 * written: at most one window. A durable increment is written before it is answered, together with
 * the increments of its holder not yet written.
 *
 * <p>A reader takes {@link #running} before it reads the stored row. A holder leaves memory only after
 * its increments are written and its cached views dropped, so a reader that finds nothing here reads
 * a row that holds them. The first increment of a holder reads its stored counters the same way, and
 * reads them again if any holder left memory meanwhile.
 *
 * <p>The engine owns no threads: flushes due by count run on the caller's executor, the caller calls
 * {@link #flushDue} every {@link CounterFlush#checkEvery()}, and the caller's ticker says how long
 * increments have waited; a test holding both writes one flush when it chooses.
 */
public final class CounterBuffer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CounterBuffer.class);
    /** Holders written by one statement at most, which bounds its arrays and the row locks it holds. */
    private static final int MAX_BATCH = 1000;

    // The users who joined a written conversation: their inboxes show its counters too.
    private static final String GUESTS = """
            ARRAY(SELECT g.member_id FROM conversation_members g
                   WHERE g.app_id = c.app_id AND g.conversation_id = c.conversation_id
                     AND g.member_kind = 'user' AND g.guest) AS guest_ids""";

    // A batch's or a durable write's increments are sums of deltas, which may leave 64 bits while the counter they
    // move stays within them (-MAX queued, then +MAX and +1): they are added as numeric, and only the result must
    // be a bigint (22003 otherwise). A stored value is still read as a bigint, and only from a JSON number: one that is
    // not an integer is refused (22P02), a string ("40") or a null written by hand too, not read as what it spells, as
    // the write-behind path refuses them (StoredCounters). The counters of %1$s, moved by each increment d:
    private static final String MOVED = """
            jsonb_object_agg(d.key, (coalesce((CASE WHEN jsonb_typeof(%1$s.counters -> d.key) = 'number' THEN %1$s.counters ->> d.key
                                                    ELSE 'not an integer: ' || (%1$s.counters -> d.key)::text END)::bigint, 0)
                                     + d.value::numeric)::bigint)""";

    // One statement writes a batch of both kinds. The batch is sorted by kind, app and id, and a nested
    // loop over it updates rows in that order, so two writers lock the rows they share in the same order.
    static final Query FLUSH = new Query("counters.flush", """
            WITH batch AS (
                SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::text[]) AS b(kind, app_id, holder_id, increments)
            ), conversations_written AS (
                UPDATE conversations c
                   SET counters = c.counters || (
                           SELECT %1$s
                             FROM jsonb_each_text(b.increments::jsonb) AS d),
                       updated_at = now()
                  FROM batch b
                 WHERE b.kind = 'conversation' AND c.app_id = b.app_id AND c.conversation_id = b.holder_id
                RETURNING 'conversation' AS kind, c.app_id, c.conversation_id AS holder_id, c.user_id, %3$s
            ), users_written AS (
                UPDATE users u
                   SET counters = u.counters || (
                           SELECT %2$s
                             FROM jsonb_each_text(b.increments::jsonb) AS d),
                       updated_at = now()
                  FROM batch b
                 WHERE b.kind = 'user' AND u.app_id = b.app_id AND u.user_id = b.holder_id
                RETURNING 'user' AS kind, u.app_id, u.user_id AS holder_id, u.user_id, '{}'::bigint[] AS guest_ids
            )
            SELECT kind, app_id, holder_id, user_id, guest_ids FROM conversations_written
            UNION ALL
            SELECT kind, app_id, holder_id, user_id, guest_ids FROM users_written""".formatted(MOVED.formatted("c"), MOVED.formatted("u"), GUESTS));

    // A flush's token, in its transaction: none is inserted when an earlier attempt of the flush committed it.
    static final Query TOKEN = new Query("counters.flush_token", """
            INSERT INTO counter_flushes (instance_id, flush_seq) VALUES (?::uuid, ?) ON CONFLICT DO NOTHING RETURNING true""");

    // Whether the increments leave the row within Limits.MAX_COUNTERS, or add no name to one already past it (kept
    // from before the limit held for increments), checked on the locked row: two requests adding names cannot both pass.
    private static final String ROOM = """
               AND (SELECT count(*) FROM jsonb_object_keys(%1$s.counters || ?::jsonb))
                   <= greatest(%2$d, (SELECT count(*) FROM jsonb_object_keys(%1$s.counters)))""";

    // A durable increment: one statement, so concurrent ones never lose an update (the row lock orders them).
    static final Query INCREMENT_CONVERSATION = new Query("conversation.increment_counters", """
            UPDATE conversations c
               SET counters = c.counters || (
                       SELECT %s
                         FROM jsonb_each_text(?::jsonb) AS d),
                   updated_at = now()
             WHERE c.app_id = ? AND c.conversation_id = ?
            %s
            RETURNING c.counters, c.user_id, %s""".formatted(MOVED.formatted("c"), ROOM.formatted("c", Limits.MAX_COUNTERS), GUESTS));

    static final Query INCREMENT_USER = new Query("user.increment_counters", """
            UPDATE users u
               SET counters = u.counters || (
                       SELECT %s
                         FROM jsonb_each_text(?::jsonb) AS d),
                   updated_at = now()
             WHERE u.app_id = ? AND u.user_id = ?
            %s
            RETURNING u.counters, u.user_id, '{}'::bigint[] AS guest_ids""".formatted(MOVED.formatted("u"), ROOM.formatted("u", Limits.MAX_COUNTERS)));

    /** What has counters: a conversation or a user. */
    public enum Kind {
        CONVERSATION, USER;

        /** The name the flush statement and error messages use. */
        String noun() {
            return this == CONVERSATION ? "conversation" : "user";
        }
    }

    /** One conversation's or user's counters, within its app. */
    public record Holder(Kind kind, long appId, long id) {
        public static Holder conversation(long appId, long conversationId) {
            return new Holder(Kind.CONVERSATION, appId, conversationId);
        }

        public static Holder user(long appId, long userId) {
            return new Holder(Kind.USER, appId, userId);
        }

        static final Comparator<Holder> WRITE_ORDER = Comparator.comparing(Holder::kind)
                .thenComparingLong(Holder::appId).thenComparingLong(Holder::id);
    }

    /** The counters this instance has moved and not yet seen written, as a reader overlays them on the stored ones. */
    public record Running(Map<String, Long> values) {
        static final Running NONE = new Running(Map.of());

        /** The stored counters with the running values in place of theirs; the stored document itself when none run. */
        public JsonText over(JsonText stored) {
            return values.isEmpty() ? stored : StoredCounters.overlay(stored, values);
        }

        public boolean isEmpty() {
            return values.isEmpty();
        }
    }

    /** A row a write reached: the conversation's user and guests, whose inboxes show it, or the user itself. */
    private record Written(Holder holder, long userId, List<Long> guestIds) {
    }

    private static final RowMapper<Written> WRITTEN = row -> new Written(new Holder(
            "conversation".equals(row.getString("kind")) ? Kind.CONVERSATION : Kind.USER, row.getLong("app_id"),
            row.getLong("holder_id")), row.getLong("user_id"), guestIds(row));

    /** A durable write's answer: every counter as stored, and the conversation's user and guests. */
    private record Stored(JsonText counters, long userId, List<Long> guestIds) {
    }

    private static List<Long> guestIds(ResultSet row) throws SQLException {
        return List.of((Long[]) row.getArray("guest_ids").getArray());
    }

    /** Increments a flush took from a holder's tally to write: their sums, how many, and when the first was queued. */
    private record Taken(Holder holder, Tally tally, Map<String, Number> increments, int count, long queuedAt) {
    }

    /** A batch whose transaction lost its connection: it may have committed, as its token in counter_flushes will say. */
    private record Unconfirmed(long token, List<Taken> taken) {
    }

    /** The reasons {@link Metrics#COUNTERS_LOST} counts, as its help says. */
    private static final String LOST_REFUSED = "refused";
    private static final String LOST_UNCONFIRMED = "unconfirmed";
    private static final String LOST_SHUTDOWN = "shutdown";

    private final Database database;
    private final ReadCache cache;
    private final Executor executor;
    private final Ticker ticker;
    private final CounterFlush policy;
    private final Map<Holder, Tally> tallies = new ConcurrentHashMap<>();
    private final ReentrantLock flushLock = new ReentrantLock(); // one flush at a time
    private final String instance = UUID.randomUUID().toString(); // with a flush's number, its token
    private long flushes; // the flushes begun; guarded by flushLock
    private final List<Unconfirmed> unconfirmed = new ArrayList<>(); // guarded by flushLock
    private final AtomicBoolean flushRequested = new AtomicBoolean();
    private final AtomicLong retirements = new AtomicLong(); // tallies let go, each after its holder's row was written
    private final DistributionSummary flushSizes;
    private final MeterRegistry registry;
    private volatile boolean closed;
    private volatile long lostAtClose;
    private volatile boolean failing; // the last flush failed: its failure is logged once, not every tick

    /**
     * Holds increments until {@code policy} says they are due by count (then a flush runs on {@code executor})
     * or by {@code ticker}'s time (the caller's next {@link #flushDue}); a written holder's cached views are
     * dropped from {@code cache}.
     */
    public CounterBuffer(Database database, ReadCache cache, Executor executor, Ticker ticker, CounterFlush policy,
                         MeterRegistry registry) {
        this.database = database;
        this.cache = cache;
        this.executor = executor;
        this.ticker = ticker;
        this.policy = policy;
        this.registry = registry;
        this.flushSizes = DistributionSummary.builder(Metrics.COUNTER_FLUSH_SIZE)
                .description(Metrics.COUNTER_FLUSH_SIZE_HELP).register(registry);
        Gauge.builder(Metrics.COUNTERS_HELD, tallies, Map::size).description(Metrics.COUNTERS_HELD_HELP).register(registry);
        // Published at 0 from the start: a series born at its first loss shows no increase to an alert.
        List.of(LOST_REFUSED, LOST_UNCONFIRMED, LOST_SHUTDOWN).forEach(this::lost);
    }

    /**
     * Adds each delta to its named counter (a missing one starts at 0) and returns all of the holder's
     * counters as this instance now shows them. {@code stored} gives the holder's counters as stored
     * (throwing {@link NotFound} for no such holder); {@code durable} writes before returning.
     */
    public JsonText increment(Holder holder, Map<String, Long> deltas, boolean durable, Supplier<JsonText> stored) {
        if (!durable) {
            Queued queued = add(holder, deltas, stored);
            if (queued != null) {
                return queued.shown(stored);
            }
        }
        return writeNow(holder, deltas, stored); // durable, or this buffer has closed and no flush would come
    }

    /** Increments taken into a tally: the values it shows now, over the stored counters as it first read them. */
    private record Queued(Running running, JsonText firstRead) {
        /**
         * The counters to answer with. The increment is taken and a flush will write it, so a database that cannot be
         * read now must not make it an error: a client would send it again and it would count twice. The stored
         * counters as the tally first read them answer then (those this instance moved are its own, and current).
         */
        JsonText shown(Supplier<JsonText> stored) {
            JsonText now;
            try {
                now = stored.get();
            } catch (DatabaseUnavailable | DatabaseFailure | PoolSaturated e) {
                now = firstRead;
            }
            return running.over(now);
        }
    }

    /** The counters this instance shows ahead of the stored row; take them before reading the row. */
    public Running running(Holder holder) {
        Tally tally = tallies.get(holder);
        return tally == null ? Running.NONE : new Running(tally.shown);
    }

    /** Queues the increments in the holder's tally; null once closed. */
    private Queued add(Holder holder, Map<String, Long> deltas, Supplier<JsonText> stored) {
        while (true) {
            Tally tally = tallies.get(holder);
            if (tally == null) {
                long seen = retirements.get();
                JsonText read = stored.get(); // read after finding no tally: see the class comment
                tally = tallies.computeIfAbsent(holder, h -> retirements.get() == seen ? new Tally(read) : null);
                if (tally == null) {
                    continue; // a tally was let go as they were read, perhaps this holder's: they may predate its write
                }
            }
            boolean due;
            tally.lock.lock();
            try {
                if (tally.retired) {
                    continue; // written and let go meanwhile: read the stored counters again
                }
                if (closed) {
                    return null;
                }
                tally.add(deltas, ticker.read());
                due = tally.increments >= policy.increments();
            } catch (RuntimeException refused) {
                if (tally.queued.isEmpty() && tally.flushing.isEmpty()) {
                    retire(holder, tally); // it holds nothing: keep no stored counters that would only age
                }
                throw refused;
            } finally {
                tally.lock.unlock();
            }
            if (due) {
                requestFlush();
            }
            return new Queued(new Running(tally.shown), tally.firstRead);
        }
    }

    private void requestFlush() {
        if (flushRequested.compareAndSet(false, true)) {
            try {
                executor.execute(this::flushDue);
            } catch (RejectedExecutionException e) {
                flushRequested.set(false); // shutting down: close() writes everything
            }
        }
    }

    /**
     * Writes the holder's increments not yet written and {@code deltas} in one UPDATE, holding its tally
     * so no increment of it is queued meanwhile, and lets the tally go: the row now holds everything.
     */
    private JsonText writeNow(Holder holder, Map<String, Long> deltas, Supplier<JsonText> stored) {
        while (true) {
            Tally made = Tally.forDurableWrite();
            Tally tally = lockedTally(holder, made);
            try {
                if (tally.retired) {
                    continue;
                }
                Stored written = writeOne(holder, tally.withQueued(deltas), stored);
                retire(holder, tally);
                return written.counters();
            } catch (RuntimeException e) {
                if (tally == made) {
                    retire(holder, tally);
                }
                throw e;
            } finally {
                tally.lock.unlock();
            }
        }
    }

    /** The holder's tally (or {@code made}, already locked, if it has none) locked, with no flush writing it. */
    private Tally lockedTally(Holder holder, Tally made) {
        Tally tally = tallies.putIfAbsent(holder, made);
        if (tally == null) {
            return made;
        }
        made.lock.unlock();
        tally.lock.lock();
        while (!tally.flushing.isEmpty()) {
            tally.written.awaitUninterruptibly();
        }
        return tally;
    }

    private Stored writeOne(Holder holder, Map<String, Number> increments, Supplier<JsonText> storedNow) {
        Query increment = holder.kind() == Kind.CONVERSATION ? INCREMENT_CONVERSATION : INCREMENT_USER;
        try (ReadCache.Changing change = cache.changing()) {
            return database.inTransaction(handle -> {
                String written = Json.write(increments);
                Stored stored = handle.first(increment, row -> new Stored(JsonText.stored(row.getString(1)), row.getLong(2), guestIds(row)),
                        written, holder.appId(), holder.id(), written).orElse(null);
                if (stored == null) {
                    Query exists = holder.kind() == Kind.CONVERSATION ? MessageLog.CONVERSATION_EXISTS : Users.EXISTS;
                    if (handle.first(exists, row -> true, holder.appId(), holder.id()).isPresent()) {
                        throw tooMany(holder.kind().noun() + " " + holder.id() + " more than " + Limits.MAX_COUNTERS + " counters");
                    }
                    throw new NotFound(holder.kind().noun(), holder.id());
                }
                change.mark(changed(holder, stored.userId(), stored.guestIds()));
                return stored;
            });
        } catch (DatabaseFailure e) {
            if ("22003".equals(e.sqlState()) || "22P02".equals(e.sqlState())) { // out of range; a stored counter no integer
                throw refusal(increments, StoredCounters.of(storedNow.get()), e);
            }
            throw e;
        }
    }

    /**
     * Why the database refused a durable write's increments, said as the write-behind path says it, naming the counter:
     * a stored value that is no integer or beyond 64 bits (written by hand), or a sum beyond them.
     */
    private static RuntimeException refusal(Map<String, Number> increments, StoredCounters stored, DatabaseFailure failure) {
        increments.forEach((name, increment) -> {
            long value = stored.value(name); // refuses a stored value that cannot be moved, naming it
            if (BigInteger.valueOf(value).add(Tally.big(increment)).bitLength() >= Long.SIZE) {
                throw beyondRange(name);
            }
        });
        return failure; // the row changed since: none of its counters explains the refusal
    }

    static InvalidInput beyondRange(String name) {
        return new InvalidInput("increments." + name, "would move the counter beyond the 64-bit integer range");
    }

    private static InvalidInput tooMany(String outcome) {
        return new InvalidInput("increments", "would give " + outcome + "; a conversation or a user keeps at most "
                + Limits.MAX_COUNTERS);
    }

    /** Writes every holder due by count or by the ticker's time. Never throws: it runs on the caller's scheduler. */
    public void flushDue() {
        flushRequested.set(false);
        long now = ticker.read();
        flush(tally -> tally.due(now, policy));
    }

    private void flush(Predicate<Tally> due) {
        flushLock.lock();
        try {
            confirmUnconfirmed();
            List<Taken> taken = take(due);
            for (int from = 0; from < taken.size(); from += MAX_BATCH) {
                write(taken.subList(from, Math.min(taken.size(), from + MAX_BATCH)));
            }
        } finally {
            flushLock.unlock();
        }
    }

    /** Moves the queued increments of each holder due into its flushing set, in write order. */
    private List<Taken> take(Predicate<Tally> due) {
        List<Taken> taken = new ArrayList<>();
        tallies.forEach((holder, tally) -> {
            tally.lock.lock();
            try {
                if (!tally.retired && due.test(tally)) {
                    taken.add(new Taken(holder, tally, tally.queued, tally.increments, tally.firstQueuedAt));
                    tally.take();
                }
            } finally {
                tally.lock.unlock();
            }
        });
        taken.sort(Comparator.comparing(Taken::holder, Holder.WRITE_ORDER));
        return taken;
    }

    /**
     * Writes one batch. A row that refuses its increments (a counter pushed out of range by another
     * instance, or made a non-integer by hand) fails the statement, so each holder is then written alone
     * and only the refused ones are dropped. Increments not written for any other reason are queued
     * again, except when the connection broke after the transaction began: it may have committed, so the
     * batch is kept apart, unconfirmed, and sent again with its token by the next flush.
     */
    private void write(List<Taken> batch) {
        long token = ++flushes;
        var sent = new AtomicBoolean();
        try {
            send(batch, token, sent);
            batch.forEach(this::release);
            recovered();
        } catch (DatabaseFailure e) {
            if (!refusedByARow(e)) {
                putBack(batch, e);
            } else if (batch.size() > 1) {
                batch.forEach(taken -> write(List.of(taken)));
            } else {
                drop(batch.getFirst(), LOST_REFUSED, e);
            }
        } catch (DatabaseUnavailable e) {
            if (sent.get()) {
                LOG.warn("the connection broke while the counters of {} conversations and users were written ({}); the "
                        + "next flush sends them again with their token, which says whether they were", batch.size(), e.getMessage());
                unconfirmed.add(new Unconfirmed(token, batch));
                batch.forEach(this::release); // no longer this tally's to write
            } else {
                putBack(batch, e);
            }
        } catch (RuntimeException e) {
            putBack(batch, e);
        }
    }

    /**
     * One transaction: the flush's token, then the batch, unless the token was there already (an earlier attempt
     * committed). A token still being committed by an earlier attempt holds the insert until that one ends.
     */
    private void send(List<Taken> batch, long token, AtomicBoolean sent) {
        try (ReadCache.Changing change = cache.changing()) {
            String[] kinds = batch.stream().map(t -> t.holder().kind().noun()).toArray(String[]::new);
            Long[] apps = batch.stream().map(t -> t.holder().appId()).toArray(Long[]::new);
            Long[] ids = batch.stream().map(t -> t.holder().id()).toArray(Long[]::new);
            String[] increments = batch.stream().map(t -> Json.write(t.increments())).toArray(String[]::new);
            database.inTransaction(handle -> {
                sent.set(true);
                if (handle.first(TOKEN, row -> true, instance, token).isEmpty()) {
                    return List.of();
                }
                List<Written> written = handle.list(FLUSH, WRITTEN, handle.array("text", kinds), handle.array("bigint", apps),
                        handle.array("bigint", ids), handle.array("text", increments));
                change.mark(written.stream().flatMap(row -> changed(row.holder(), row.userId(), row.guestIds()).stream()).toList());
                return written;
            });
        }
        flushSizes.record(batch.size());
    }

    /**
     * Sends each unconfirmed batch again with its token, so it is written once whether or not its COMMIT landed.
     * An outage leaves them for the next flush. A row that refuses one proves it never committed (it was written
     * again): its holders are then sent alone, and only the refused ones are lost, as on a first attempt.
     */
    private void confirmUnconfirmed() {
        while (!unconfirmed.isEmpty()) {
            Unconfirmed batch = unconfirmed.getFirst();
            try {
                send(batch.taken(), batch.token(), new AtomicBoolean());
                unconfirmed.removeFirst();
            } catch (DatabaseFailure e) {
                if (!refusedByARow(e)) {
                    return;
                }
                unconfirmed.removeFirst();
                if (batch.taken().size() == 1) {
                    lose(batch.taken().getFirst(), LOST_REFUSED, e);
                } else {
                    batch.taken().forEach(taken -> unconfirmed.add(new Unconfirmed(++flushes, List.of(taken))));
                }
            } catch (RuntimeException e) {
                return;
            }
        }
    }

    private static boolean refusedByARow(DatabaseFailure e) {
        return "22003".equals(e.sqlState()) || "22P02".equals(e.sqlState());
    }

    /** The flush wrote the holder: it leaves memory unless increments were queued meanwhile. */
    private void release(Taken taken) {
        Tally tally = taken.tally();
        tally.lock.lock();
        try {
            tally.written();
            if (tally.queued.isEmpty()) {
                retire(taken.holder(), tally);
            }
        } finally {
            tally.lock.unlock();
        }
    }

    private void putBack(List<Taken> batch, RuntimeException cause) {
        if (!failing) {
            LOG.warn("could not write the counters of {} conversations and users ({}); they stay in memory and are "
                    + "tried again within {}", batch.size(), cause.getMessage(), Durations.format(policy.checkEvery()));
        }
        failing = true;
        for (Taken taken : batch) {
            Tally tally = taken.tally();
            tally.lock.lock();
            try {
                tally.putBack(taken.count(), taken.queuedAt());
            } finally {
                tally.lock.unlock();
            }
        }
    }

    private void recovered() {
        if (failing) {
            failing = false;
            LOG.info("counters are written again");
        }
    }

    /**
     * Gives up on a holder's taken increments, counted as lost for {@code reason}. Its cached views stay: a
     * refused row did not change, and one that may have changed is announced by its trigger if it did. If
     * increments came meanwhile, the values shown count the lost ones too until those are written.
     */
    private void drop(Taken taken, String reason, RuntimeException cause) {
        lose(taken, reason, cause);
        release(taken);
    }

    private void lose(Taken taken, String reason, RuntimeException cause) {
        LOG.warn("{} {} in app {}: counter increments {} were not written ({}): {}", taken.holder().kind().noun(),
                taken.holder().id(), taken.holder().appId(), taken.increments(), reason, cause.getMessage());
        lost(reason).increment(taken.count());
    }

    private Counter lost(String reason) {
        return Counter.builder(Metrics.COUNTERS_LOST).description(Metrics.COUNTERS_LOST_HELP).tag("reason", reason)
                .register(registry);
    }

    /** The cached views a holder's written row changes: a conversation's and its user's and guests' inboxes, or a user's. */
    private static List<Scope> changed(Holder holder, long userId, List<Long> guestIds) {
        return holder.kind() == Kind.CONVERSATION
                ? ReadCache.conversationScopes(holder.appId(), holder.id(), userId, guestIds)
                : List.of(Scope.user(holder.appId(), holder.id()));
    }

    /** Takes the tally out of memory; whoever holds it next starts again from the stored row. Called under its lock. */
    private void retire(Holder holder, Tally tally) {
        tally.retired = true;
        tallies.remove(holder, tally);
        retirements.incrementAndGet();
    }

    /**
     * Writes every increment still held and takes no more: later ones are written at once. What cannot
     * be written now (the database is down) is lost, and the log says how much.
     */
    @Override
    public void close() {
        closed = true;
        flush(tally -> true);
        long unsure;
        flushLock.lock();
        try {
            confirmUnconfirmed(); // those the last flush left
            unsure = unconfirmed.stream().flatMap(batch -> batch.taken().stream()).mapToLong(Taken::count).sum();
            if (unsure > 0) {
                LOG.error("{} counter increments were being written when the connection broke, and could not be checked "
                        + "before shutdown: they may or may not be stored", unsure);
                lost(LOST_UNCONFIRMED).increment(unsure);
            }
        } finally {
            flushLock.unlock();
        }
        long left = tallies.values().stream().mapToLong(tally -> tally.increments).sum();
        if (left > 0) {
            LOG.error("{} counter increments of {} conversations and users could not be written before shutdown and are "
                    + "lost; the lines that follow name each and its increments", left, tallies.size());
            tallies.forEach((holder, tally) -> { // what an operator needs to apply them by hand
                tally.lock.lock();
                try {
                    if (tally.increments > 0) {
                        LOG.warn("{} {} in app {}: counter increments {} were not written (shutdown)", holder.kind().noun(),
                                holder.id(), holder.appId(), tally.queued);
                    }
                } finally {
                    tally.lock.unlock();
                }
            });
            lost(LOST_SHUTDOWN).increment(left);
        }
        lostAtClose = left + unsure;
    }

    /** How many increments {@link #close} could not write, or could not be sure of (0 before it ran). */
    public long lostAtClose() {
        return lostAtClose;
    }

    /** One holder's counters as this instance has moved them. Guarded by its lock, except {@link #shown}. */
    private static final class Tally {
        final ReentrantLock lock = new ReentrantLock();
        final Condition written = lock.newCondition(); // a flush of it ended
        final JsonText firstRead; // the stored counters, read when its first increment arrived
        final StoredCounters stored; // the same, parsed
        final Map<String, Long> values = new HashMap<>(); // each counter moved here: stored value plus increments since
        // Increments no flush has taken yet, and those a flush is writing: each name's sum, a Long, or a BigInteger
        // once it leaves 64 bits (the value it moves is what must stay within them: see FLUSH).
        Map<String, Number> queued = new HashMap<>();
        Map<String, Number> flushing = Map.of();
        int increments; // queued increments, counted for the flush policy
        long firstQueuedAt; // ticker reading of the first queued increment
        boolean retired; // out of the map: whoever holds it starts again
        volatile Map<String, Long> shown = Map.of(); // values, for readers that take no lock

        Tally(JsonText firstRead) {
            this.firstRead = firstRead;
            this.stored = firstRead == null ? StoredCounters.NONE : StoredCounters.of(firstRead);
        }

        /** A tally a durable write holds while it writes: it queues nothing, and its maker retires it. */
        static Tally forDurableWrite() {
            var tally = new Tally(null);
            tally.lock.lock();
            return tally;
        }

        /**
         * Moves the values and queues the deltas, or changes nothing and throws if any result leaves 64 bits or the
         * deltas name counters the holder would keep more of than {@link Limits#MAX_COUNTERS}.
         */
        void add(Map<String, Long> deltas, long now) {
            long added = deltas.keySet().stream().filter(name -> !values.containsKey(name) && !stored.has(name)).count();
            if (added > 0) {
                long kept = stored.size() + values.keySet().stream().filter(name -> !stored.has(name)).count();
                if (kept + added > Limits.MAX_COUNTERS) {
                    throw tooMany("it " + (kept + added) + " counters");
                }
            }
            Map<String, Long> movedValues = new HashMap<>();
            deltas.forEach((name, delta) -> {
                long value = values.containsKey(name) ? values.get(name) : stored.value(name);
                movedValues.put(name, plus(name, value, delta));
            });
            values.putAll(movedValues); // every value fits: queue the deltas
            deltas.forEach((name, delta) -> queued.merge(name, delta, Tally::sum));
            if (increments++ == 0) {
                firstQueuedAt = now;
            }
            shown = Map.copyOf(values);
        }

        /** The queued increments with {@code deltas} added: what a durable write sends. */
        Map<String, Number> withQueued(Map<String, Long> deltas) {
            Map<String, Number> all = new HashMap<>(queued);
            deltas.forEach((name, delta) -> {
                if (values.containsKey(name)) {
                    plus(name, values.get(name), delta); // refused here as the database would refuse it
                }
                all.merge(name, delta, Tally::sum); // the database checks the result, not this sum
            });
            return all;
        }

        boolean due(long now, CounterFlush policy) {
            return !queued.isEmpty() && (increments >= policy.increments() || now - firstQueuedAt >= policy.after().toNanos());
        }

        /** The queue becomes the flushing set; increments from now on queue afresh. */
        void take() {
            flushing = queued;
            queued = new HashMap<>();
            increments = 0;
        }

        void written() {
            flushing = Map.of();
            written.signalAll();
        }

        /** The taken increments go back in the queue, first in it again. */
        void putBack(int count, long queuedAt) {
            flushing.forEach((name, delta) -> queued.merge(name, delta, Tally::sum));
            firstQueuedAt = queuedAt; // older than any queued since
            increments += count;
            written();
        }

        /** Two sums of increments: a Long while it fits, which is almost always, and a BigInteger beyond. */
        static Number sum(Number a, Number b) {
            if (a instanceof Long x && b instanceof Long y) {
                long sum = x + y;
                if (((x ^ sum) & (y ^ sum)) >= 0) { // no overflow (as Math.addExact checks)
                    return sum;
                }
            }
            BigInteger sum = big(a).add(big(b));
            return sum.bitLength() < Long.SIZE ? (Number) sum.longValue() : sum;
        }

        static BigInteger big(Number n) {
            return n instanceof BigInteger b ? b : BigInteger.valueOf(n.longValue());
        }

        private static long plus(String name, long a, long b) {
            try {
                return Math.addExact(a, b);
            } catch (ArithmeticException e) {
                throw beyondRange(name);
            }
        }
    }
}
