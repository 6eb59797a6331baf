package dev.parley.chat;

import dev.parley.db.Database;
import dev.parley.db.Ids;
import dev.parley.metrics.Metrics;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends messages with group commit: appends that arrive while a transaction is committing wait
 * in a queue, and the next writer takes all of them into one transaction ({@link BatchWriter}: a few
 * multi-row statements, one WAL flush). A caller is answered only after the commit that holds its
 * messages, so an acknowledged message is durable.
 *
 * <p>One request is one unit: its messages commit together or not at all. A unit that fails
 * validation (unknown conversation, bad reply_to_id ...) is left out without disturbing the others;
 * if the transaction itself fails, every unit is retried on its own so one bad unit cannot sink the rest.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    private static final int MAX_MESSAGES_PER_TRANSACTION = 2000;
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

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
    }

    private final BatchWriter writer;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Thread> writers = new ArrayList<>();
    private final DistributionSummary batchSizes;
    private volatile boolean closing;

    public GroupCommit(Database database, Ids ids, int writerCount, MeterRegistry registry) {
        this.writer = new BatchWriter(database, ids);
        this.batchSizes = DistributionSummary.builder(Metrics.APPEND_BATCH_SIZE)
                .description(Metrics.APPEND_BATCH_SIZE_HELP).register(registry);
        for (int i = 0; i < writerCount; i++) {
            Thread writer = Thread.ofPlatform().name("parley-append-" + i).daemon().start(this::writeLoop);
            writers.add(writer);
        }
    }

    /** Appends the messages to one conversation in one transaction; returns once they are committed. */
    public List<Appended> append(long appId, long conversationId, List<NewMessage> messages) {
        if (closing) {
            throw new ShuttingDown();
        }
        var pending = new Pending(new BatchWriter.Unit(appId, conversationId, List.copyOf(messages)), new CompletableFuture<>());
        queue.add(pending);
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

    private void writeLoop() {
        while (true) {
            List<Pending> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            writeAndAnswer(batch);
        }
    }

    private List<Pending> nextBatch() throws InterruptedException {
        List<Pending> batch = new ArrayList<>();
        Pending first = queue.take();
        batch.add(first);
        int messages = first.unit().messages().size();
        Pending next;
        while (messages < MAX_MESSAGES_PER_TRANSACTION && (next = queue.poll()) != null) {
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
                batch.getFirst().answer().completeExceptionally(e);
                return;
            }
            LOG.debug("group commit of {} units failed; retrying each alone", batch.size(), e);
            batch.forEach(pending -> writeAndAnswer(List.of(pending)));
        }
    }

    /** Stops taking appends, lets the writers finish what is queued, then stops them. */
    @Override
    public void close() {
        closing = true;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!queue.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        writers.forEach(Thread::interrupt);
        for (Thread writer : writers) {
            try {
                writer.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
