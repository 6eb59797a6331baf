package dev.parley.chat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.parley.db.DatabaseFailure;
import dev.parley.db.DatabaseUnavailable;
import dev.parley.db.PoolSaturated;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends messages with group commit: appends that arrive while a batch is being written wait in a
 * queue, and the next free writer takes all of them into one transaction ({@link BatchWriter}: a few
 * multi-row statements, one WAL flush). A caller is answered only after the commit that holds its
 * messages, so an acknowledged message is durable.
 *
 * <p>Apps take turns: a writer takes the oldest unit of each app with units queued in turn, up to the
 * batch's message cap, so one app's queue of batches cannot keep another app's append out of the next
 * transaction. Each app's units are taken in the order they came.
 *
 * <p>Large units (over {@value #LARGE_MESSAGES} messages or {@value #LARGE_CHARS} characters of content) queue in a
 * lane of their own, with writers of their own: a chat's single message never waits in the queue behind, nor
 * commits in the transaction of, a batch of a thousand long messages (in turns alone, a quiet app's appends waited
 * seconds for them, and past the pool timeout were refused: docs/benchmarks.md). Each lane has {@code writerCount}
 * writers.
 *
 * <p>One request is one unit: its messages commit together or not at all. A unit that fails
 * validation (unknown conversation, bad reply_to_id ...) is left out without disturbing the others;
 * if the transaction itself fails (a trigger, a constraint, a bug), every unit is retried on its own so
 * one bad unit cannot sink the rest.
 *
 * <p>Failures are answered as soon as they are known. An outage (database unreachable, no connection
 * in the pool) fails every unit of the batch at once, since retrying them one by one would make each
 * wait out the pool timeout in turn. A unit that no writer takes within the pool timeout is refused
 * unwritten. Only a batch whose COMMIT lost its connection, or a unit still in flight after 30 s, is
 * answered {@link AppendNotConfirmed}: nobody knows whether it is stored.
 *
 * <p>The writers run on the caller's executor, one batch per task, at most {@code writerCount} at a
 * time in each lane (each holds a connection while it writes), so the executor needs {@link #threads} threads (a
 * thread pool with fewer is refused); a test that owns the executor and the ticker runs one batch by running one task.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    private static final int MAX_MESSAGES_PER_BATCH = 2000;
    /** A unit with more messages than this, or more characters of content than {@link #LARGE_CHARS}, is large. */
    static final int LARGE_MESSAGES = 100;
    static final int LARGE_CHARS = 256 * 1024;
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(10);

    /** One stored message, and whether it was stored by an earlier attempt with the same Idempotency-Key. */
    public record Appended(Message message, boolean replayed) {
    }

    /** A unit waiting for its answer in {@code lane}; {@code queuedAt} is the ticker's reading when it was queued. */
    private static final class Pending { // identity, not a value: the queue removes this very one
        final BatchWriter.Unit unit;
        final Lane lane;
        final long queuedAt;
        final CompletableFuture<List<Appended>> answer = new CompletableFuture<>();

        Pending(BatchWriter.Unit unit, Lane lane, long queuedAt) {
            this.unit = unit;
            this.lane = lane;
            this.queuedAt = queuedAt;
        }

        void settle(BatchWriter.Outcome outcome) {
            if (outcome.refused() != null) {
                answer.completeExceptionally(outcome.refused());
            } else {
                answer.complete(outcome.appended());
            }
        }

        void fail(RuntimeException failure) {
            answer.completeExceptionally(failure);
        }
    }

    private final BatchWriter writer;
    private final Executor executor;
    private final int writerCount;
    private final Ticker ticker;
    private final Duration queueTimeout;
    private final Lane small;
    private final Lane large;
    private final ReentrantLock drainLock = new ReentrantLock();
    private final Condition batchDone = drainLock.newCondition();
    private final DistributionSummary batchSizes;
    private final Counter backlogged;
    private volatile boolean closing;

    /**
     * Writes batches with {@code writer} on {@code executor}, at most {@code writerCount} at once; a unit that
     * waits longer than {@code queueTimeout} (the pool timeout) by {@code ticker} for a writer is refused.
     */
    public GroupCommit(BatchWriter writer, Executor executor, int writerCount, Ticker ticker, Duration queueTimeout,
                       MeterRegistry registry) {
        if (executor instanceof ThreadPoolExecutor pool && runsAtOnce(pool) < threads(writerCount)) {
            throw new IllegalArgumentException("the executor runs " + runsAtOnce(pool) + " tasks at once; " + writerCount
                    + " writers a lane need GroupCommit.threads(" + writerCount + ") = " + threads(writerCount)
                    + ", or the large lane's batches hold up the small one's");
        }
        this.writer = writer;
        this.executor = executor;
        this.writerCount = writerCount;
        this.ticker = ticker;
        this.queueTimeout = queueTimeout;
        this.small = new Lane("small", writerCount);
        this.large = new Lane("large", writerCount);
        this.batchSizes = DistributionSummary.builder(Metrics.APPEND_BATCH_SIZE)
                .description(Metrics.APPEND_BATCH_SIZE_HELP).register(registry);
        this.backlogged = Counter.builder(Metrics.POOL_REJECTED).description(Metrics.POOL_REJECTED_HELP)
                .tag(Metrics.POOL_REJECTED_RESOURCE, "append_writers").register(registry);
    }

    /**
     * How many threads the executor must have for {@code writerCount} writers a lane: a lane's writer that finds every
     * thread busy with the other lane's batches would wait for them, as if the lanes were one.
     */
    public static int threads(int writerCount) {
        return 2 * writerCount;
    }

    /** How many of its tasks {@code pool} runs at once: its core threads, or its maximum when it queues none. */
    private static int runsAtOnce(ThreadPoolExecutor pool) {
        return pool.getQueue() instanceof SynchronousQueue ? pool.getMaximumPoolSize() : pool.getCorePoolSize();
    }

    /** Appends one message, as a POST of one sends it: a refusal names its fields bare ({@code reply_to_id}). */
    public Appended append(long appId, long conversationId, NewMessage message) {
        return await(enqueue(new BatchWriter.Unit(appId, conversationId, List.of(message), false))).getFirst();
    }

    /**
     * Appends a batch to one conversation in one transaction; returns once they are committed. A refusal names
     * the message by its place, {@code messages[0].reply_to_id}, even in a batch of one.
     */
    public List<Appended> append(long appId, long conversationId, List<NewMessage> messages) {
        return await(enqueue(new BatchWriter.Unit(appId, conversationId, List.copyOf(messages), true)));
    }

    /** Queues the unit and returns its answer without waiting for it: for tests that run the writers themselves. */
    CompletableFuture<List<Appended>> submit(long appId, long conversationId, List<NewMessage> messages) {
        return enqueue(new BatchWriter.Unit(appId, conversationId, List.copyOf(messages), true)).answer;
    }

    private Pending enqueue(BatchWriter.Unit unit) {
        if (closing) {
            throw new ShuttingDown();
        }
        var pending = new Pending(unit, isLarge(unit) ? large : small, ticker.read());
        pending.lane.queue.add(pending);
        startWriterIfNeeded(pending.lane);
        if (closing && pending.lane.queue.remove(pending)) {
            throw new ShuttingDown(); // close may already have refused the queue
        }
        return pending;
    }

    /** Whether the unit goes in the lane of large units. */
    static boolean isLarge(BatchWriter.Unit unit) {
        if (unit.messages().size() > LARGE_MESSAGES) {
            return true;
        }
        long chars = 0;
        for (NewMessage message : unit.messages()) {
            chars += message.content().length();
        }
        return chars > LARGE_CHARS;
    }

    /** The unit's answer: a writer must take it within the queue timeout, and then has long to commit it. */
    private List<Appended> await(Pending pending) {
        try {
            return answerWithin(pending, queueTimeout);
        } catch (TimeoutException notYet) {
            if (pending.lane.queue.remove(pending)) {
                throw waitedTooLong(pending.lane); // no writer took it, so it was never written
            }
        }
        try {
            return answerWithin(pending, ANSWER_TIMEOUT); // in flight: a row lock may hold it, and it may yet commit
        } catch (TimeoutException e) {
            throw new AppendNotConfirmed(queueTimeout.plus(ANSWER_TIMEOUT));
        }
    }

    private static List<Appended> answerWithin(Pending pending, Duration limit) throws TimeoutException {
        try {
            return pending.answer.get(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AppendNotConfirmed(limit);
        }
    }

    /** The refusal of a unit that waited out the pool timeout in {@code lane}'s queue (it was never written), counted once. */
    private Backlogged waitedTooLong(Lane lane) {
        backlogged.increment();
        int busy = writerCount - lane.idleWriters.availablePermits();
        return new Backlogged(queueTimeout, "append writers for " + lane.name + " appends busy=" + busy
                + " of PARLEY_APPEND_WRITERS=" + writerCount + ", " + lane.name + " appends queued=" + lane.queue.size());
    }

    /** Hands the executor one more batch of {@code lane} to write if its units are queued and one of its writers is idle. */
    private void startWriterIfNeeded(Lane lane) {
        if (lane.queue.isEmpty() || !lane.idleWriters.tryAcquire()) {
            return;
        }
        try {
            executor.execute(() -> writeOneBatch(lane));
        } catch (RejectedExecutionException e) {
            lane.idleWriters.release();
            refuseQueued(new ShuttingDown()); // the executor has shut down: no writer will come for them
        }
    }

    /** One writer's turn: take a batch, write it, answer its callers; then see to whatever queued meanwhile. */
    private void writeOneBatch(Lane lane) {
        try {
            List<Pending> batch = nextBatch(lane);
            if (!batch.isEmpty()) {
                writeAndAnswer(batch);
            }
        } finally {
            lane.idleWriters.release();
            startWriterIfNeeded(lane); // a unit queued while every writer was busy found none to start
            signalBatchDone();
        }
    }

    /**
     * The batching policy: everything queued in the lane, up to {@value #MAX_MESSAGES_PER_BATCH} messages, one unit
     * per app in turn ({@link AppQueue}), so a transaction holds at most one of a flooding app's 1,000-message
     * batches beside another app's; a unit that waited longer than the queue timeout is refused instead, as its
     * caller is giving up on it.
     */
    private List<Pending> nextBatch(Lane lane) {
        List<Pending> batch = new ArrayList<>();
        long now = ticker.read();
        int messages = 0;
        Pending next;
        // a unit that would overflow the batch waits for the next (a unit larger than the cap goes alone)
        while ((next = lane.queue.poll(batch.isEmpty() ? Integer.MAX_VALUE : MAX_MESSAGES_PER_BATCH - messages)) != null) {
            if (now - next.queuedAt > queueTimeout.toNanos()) {
                next.fail(waitedTooLong(lane));
                continue;
            }
            batch.add(next);
            messages += next.unit.messages().size();
        }
        return batch;
    }

    /** Writes the batch in one transaction and answers its callers; see the class comment for what failures do. */
    private void writeAndAnswer(List<Pending> batch) {
        try {
            answer(batch, writer.write(units(batch)));
        } catch (DatabaseUnavailable | PoolSaturated | AppendNotConfirmed sameForEveryUnit) {
            batch.forEach(pending -> pending.fail(sameForEveryUnit));
        } catch (RuntimeException failure) {
            if (batch.size() == 1) {
                batch.getFirst().fail(failure);
                return;
            }
            LOG.debug("group commit of {} units failed; writing each alone", batch.size(), failure);
            writeEachAlone(batch);
        }
    }

    /**
     * One transaction per unit, so a unit that makes the batch fail sinks only itself; an outage fails the rest at once,
     * and a conversation whose lock another session held past the lock budget fails its other units without a wait each.
     */
    private void writeEachAlone(List<Pending> batch) {
        Map<List<Long>, RuntimeException> heldElsewhere = new HashMap<>(); // by app and conversation
        for (int i = 0; i < batch.size(); i++) {
            Pending pending = batch.get(i);
            List<Long> conversation = List.of(pending.unit.appId(), pending.unit.conversationId());
            RuntimeException held = heldElsewhere.get(conversation);
            if (held != null) {
                pending.fail(held);
                continue;
            }
            try {
                answer(List.of(pending), writer.write(List.of(pending.unit)));
            } catch (DatabaseUnavailable | PoolSaturated outage) {
                batch.subList(i, batch.size()).forEach(untried -> untried.fail(outage));
                return;
            } catch (RuntimeException failure) {
                if (failure instanceof DatabaseFailure database && database.lockTimedOut()) {
                    heldElsewhere.put(conversation, failure);
                }
                pending.fail(failure);
            }
        }
    }

    private void answer(List<Pending> batch, List<BatchWriter.Outcome> outcomes) {
        batchSizes.record(batch.stream().mapToInt(p -> p.unit.messages().size()).sum());
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).settle(outcomes.get(i));
        }
    }

    private static List<BatchWriter.Unit> units(List<Pending> batch) {
        return batch.stream().map(p -> p.unit).toList();
    }

    private void refuseQueued(RuntimeException refusal) {
        for (Lane lane : List.of(small, large)) {
            Pending pending;
            while ((pending = lane.queue.poll(Integer.MAX_VALUE)) != null) {
                pending.fail(refusal);
            }
        }
    }

    private void signalBatchDone() {
        drainLock.lock();
        try {
            batchDone.signalAll();
        } finally {
            drainLock.unlock();
        }
    }

    /**
     * Stops taking appends and waits up to 10 s for the queued and in-flight ones to be
     * answered; whatever is still queued then was never written and is refused. The executor stays the caller's.
     */
    @Override
    public void close() {
        closing = true;
        if (!awaitDrained()) {
            LOG.warn("appends still queued or in flight after {} s of shutdown; the queued ones are refused", DRAIN_LIMIT.toSeconds());
        }
        refuseQueued(new ShuttingDown());
    }

    private boolean awaitDrained() {
        drainLock.lock();
        try {
            long left = DRAIN_LIMIT.toNanos();
            while (!small.idle() || !large.idle()) {
                if (left <= 0) {
                    return false;
                }
                left = batchDone.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            drainLock.unlock();
        }
    }

    /** Units of one size, queued, and the writers that write them: {@code writerCount} at most at once. */
    private final class Lane {
        final String name;
        final AppQueue queue = new AppQueue();
        final Semaphore idleWriters;

        Lane(String name, int writers) {
            this.name = name;
            this.idleWriters = new Semaphore(writers);
        }

        /** Nothing queued, nothing being written. */
        boolean idle() {
            return queue.isEmpty() && idleWriters.availablePermits() == writerCount;
        }
    }

    /**
     * The queued units, one first-in-first-out queue per app, taken in turns: {@link #poll} takes the oldest unit
     * of the app whose turn it is and sends that app to the back of the line. With one app it is that app's queue.
     */
    private static final class AppQueue {
        private final Map<Long, ArrayDeque<Pending>> byApp = new LinkedHashMap<>(); // apps with units queued, in turn order
        private int size;

        synchronized void add(Pending pending) {
            byApp.computeIfAbsent(pending.unit.appId(), app -> new ArrayDeque<>()).add(pending);
            size++;
        }

        /** The next unit in turn, or null if none is queued or the next has more than {@code room} messages. */
        synchronized Pending poll(int room) {
            var turns = byApp.entrySet().iterator();
            if (!turns.hasNext()) {
                return null;
            }
            var turn = turns.next();
            ArrayDeque<Pending> units = turn.getValue();
            if (units.peek().unit.messages().size() > room) {
                return null; // it stays first in line
            }
            Pending next = units.poll();
            if (units.isEmpty()) {
                turns.remove();
            } else if (byApp.size() > 1) {
                turns.remove();
                byApp.put(turn.getKey(), units); // the back of the line
            }
            size--;
            return next;
        }

        /** Removes this very unit (by identity) if no writer has taken it yet. */
        synchronized boolean remove(Pending pending) {
            ArrayDeque<Pending> units = byApp.get(pending.unit.appId());
            if (units == null || !units.remove(pending)) {
                return false;
            }
            if (units.isEmpty()) {
                byApp.remove(pending.unit.appId());
            }
            size--;
            return true;
        }

        synchronized boolean isEmpty() {
            return size == 0;
        }

        synchronized int size() {
            return size;
        }
    }

    /** The service is shutting down and takes no new appends. */
    public static final class ShuttingDown extends RuntimeException {
        ShuttingDown() {
            super("Parley is shutting down and takes no new messages; retry against another instance");
        }
    }

    /** No writer took the append within the pool timeout; it was not stored, so any retry is safe. */
    public static final class Backlogged extends RuntimeException {
        Backlogged(Duration waited, String state) {
            super("no append writer took this append within " + waited.toMillis() + " ms (" + state + "); it was not "
                    + "stored: retry later, or raise PARLEY_APPEND_WRITERS if the database has headroom", null, false, false);
        }
    }

    /** No commit was confirmed; the append may or may not be stored, so retry with the same Idempotency-Key. */
    public static final class AppendNotConfirmed extends RuntimeException {
        AppendNotConfirmed(Duration waited) {
            super("the append was not confirmed within " + waited.toSeconds()
                    + " s; it may or may not be stored: retry with the same Idempotency-Key");
        }

        AppendNotConfirmed(DatabaseUnavailable lostDuringCommit) {
            super("the database connection broke while the append was being committed (" + lostDuringCommit.getMessage()
                    + "); it may or may not be stored: retry with the same Idempotency-Key", lostDuringCommit);
        }
    }
}
