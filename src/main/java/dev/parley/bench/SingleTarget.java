package dev.parley.bench;

import dev.parley.cache.ReadCache;
import dev.parley.chat.BatchWriter;
import dev.parley.chat.NewMessage;
import dev.parley.db.Database;
import dev.parley.db.Ids;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * "single": Parley's own append SQL without HTTP and without group commit, each request's messages in a
 * transaction of their own on the client's thread, so each pays its own commit and WAL flush. The
 * design group commit replaces, with everything else (sequence numbers, idempotency keys, conversation
 * pointer, read marker, search words) the same: {@code parley / single} is what group commit and HTTP
 * together make of it. Appends only.
 */
final class SingleTarget implements Target {
    private final BatchWriter writer;
    private final long appId;
    private final AtomicLong sent = new AtomicLong();

    SingleTarget(Database database, long appId) {
        this.writer = new BatchWriter(database, new Ids(Clock.systemUTC()), ReadCache.none());
        this.appId = appId;
    }

    @Override
    public String name() {
        return "single";
    }

    private NewMessage message() {
        return Target.message(sent.incrementAndGet());
    }

    @Override
    public Session session() {
        return (operation, pick) -> {
            switch (operation) {
                case APPEND -> writer.writeAlone(appId, pick.conversationId(), List.of(message()));
                case APPEND_BATCH -> writer.writeAlone(appId, pick.conversationId(),
                        Stream.generate(this::message).limit(Operation.BATCH).toList());
                default -> throw new IllegalStateException("the single target only appends, not " + operation);
            }
        };
    }
}
