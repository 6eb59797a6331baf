package dev.parley.chat;

import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
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
 * <p>One request is one unit: its messages commit together or not at all. A unit that fails
 * validation (unknown conversation, bad reply_to_id ...) is left out without disturbing the others;
 * if the transaction itself fails, every unit is retried on its own so one bad unit cannot sink the rest.
 *
 * <p>The writers run on the caller's executor, one batch per task, at most {@code writerCount} at a
 * time (each holds a connection while it writes); a test that owns the executor runs one batch by
 * running one task.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    static final int MAX_MESSAGES_PER_BATCH = 2000;
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(10);

    /** One stored message, and whether it was stored by an earlier attempt with the same Idempotency-Key. */
    public record Appended(Message message, boolean replayed) {
    }

    /** A unit waiting for its answer. */
    private record Pending(BatchWriter.Unit unit, CompletableFuture<List<Appended>> answer) {
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
    private final Semaphore idleWriters;
    private final Queue<Pending> queue = new ConcurrentLinkedQueue<>();
    private final ReentrantLock drainLock = new ReentrantLock();
    private final Condition batchDone = drainLock.newCondition();
    private final DistributionSummary batchSizes;
    private volatile boolean closing;

    /** Writes batches with {@code writer} on {@code executor}, at most {@code writerCount} at once. */
    public GroupCommit(BatchWriter writer, Executor executor, int writerCount, MeterRegistry registry) {
        this.writer = writer;
        this.executor = executor;
        this.writerCount = writerCount;
        this.idleWriters = new Semaphore(writerCount);
        this.batchSizes = DistributionSummary.builder(Metrics.APPEND_BATCH_SIZE)
                .description(Metrics.APPEND_BATCH_SIZE_HELP).register(registry);
    }

    /** Appends the messages to one conversation in one transaction; returns once they are committed. */
    public List<Appended> append(long appId, long conversationId, List<NewMessage> messages) {
        return await(enqueue(appId, conversationId, messages));
    }

    /** Queues the unit and returns its answer without waiting for it: for tests that run the writers themselves. */
    CompletableFuture<List<Appended>> submit(long appId, long conversationId, List<NewMessage> messages) {
        return enqueue(appId, conversationId, messages).answer();
    }

    private Pending enqueue(long appId, long conversationId, List<NewMessage> messages) {
        if (closing) {
            throw new ShuttingDown();
        }
        var pending = new Pending(new BatchWriter.Unit(appId, conversationId, List.copyOf(messages)), new CompletableFuture<>());
        queue.add(pending);
        startWriterIfNeeded();
        if (closing && queue.remove(pending)) {
            throw new ShuttingDown(); // close may already have refused the queue
        }
        return pending;
    }

    private static List<Appended> await(Pending pending) {
        try {
            return pending.answer().get(ANSWER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new AppendNotConfirmed(ANSWER_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AppendNotConfirmed(ANSWER_TIMEOUT);
        }
    }

    /** Hands the executor one more batch to write if units are queued and a writer is idle. */
    private void startWriterIfNeeded() {
        if (queue.isEmpty() || !idleWriters.tryAcquire()) {
            return;
        }
        try {
            executor.execute(this::writeOneBatch);
        } catch (RejectedExecutionException e) {
            idleWriters.release();
            refuseQueued(new ShuttingDown()); // the executor has shut down: no writer will come for them
        }
    }

    /** One writer's turn: take a batch, write it, answer its callers; then see to whatever queued meanwhile. */
    private void writeOneBatch() {
        try {
            List<Pending> batch = nextBatch();
            if (!batch.isEmpty()) {
                writeAndAnswer(batch);
            }
        } finally {
            idleWriters.release();
            startWriterIfNeeded(); // a unit queued while every writer was busy found none to start
            signalBatchDone();
        }
    }

    /** The batching policy: everything queued, oldest first, up to {@value #MAX_MESSAGES_PER_BATCH} messages. */
    private List<Pending> nextBatch() {
        List<Pending> batch = new ArrayList<>();
        int messages = 0;
        Pending next;
        while (messages < MAX_MESSAGES_PER_BATCH && (next = queue.poll()) != null) {
            batch.add(next);
            messages += next.unit().messages().size();
        }
        return batch;
    }

    private void writeAndAnswer(List<Pending> batch) {
        try {
            List<BatchWriter.Outcome> outcomes = writer.write(batch.stream().map(Pending::unit).toList());
            batchSizes.record(batch.stream().mapToInt(p -> p.unit().messages().size()).sum());
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).settle(outcomes.get(i));
            }
        } catch (RuntimeException e) {
            if (batch.size() == 1) {
                batch.getFirst().fail(e);
                return;
            }
            LOG.debug("group commit of {} units failed; retrying each alone", batch.size(), e);
            batch.forEach(pending -> writeAndAnswer(List.of(pending)));
        }
    }

    private void refuseQueued(RuntimeException refusal) {
        Pending pending;
        while ((pending = queue.poll()) != null) {
            pending.fail(refusal);
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
            while (!queue.isEmpty() || idleWriters.availablePermits() < writerCount) {
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

    /** The service is shutting down and takes no new appends. */
    public static final class ShuttingDown extends RuntimeException {
        ShuttingDown() {
            super("Parley is shutting down and takes no new messages; retry against another instance");
        }
    }

    /** No commit was confirmed in time; the append may or may not be stored, so retry with the same Idempotency-Key. */
    public static final class AppendNotConfirmed extends RuntimeException {
        AppendNotConfirmed(Duration waited) {
            super("the append was not confirmed within " + waited.toSeconds()
                    + " s; it may or may not be stored: retry with the same Idempotency-Key");
        }
    }
}
