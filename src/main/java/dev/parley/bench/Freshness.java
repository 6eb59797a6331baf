package dev.parley.bench;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The staleness checker: a latest history page whose request began after an append to that
 * conversation was acknowledged must hold that message or a newer one. A cache that served a page
 * from before the append (a missed or late invalidation) is caught here, whoever made the append:
 * the workload's own appends and the background writer's ({@code --check-writes}) alike.
 *
 * <p>Only the latest acknowledged append per conversation is kept; a page whose request began
 * before it is not checked (an earlier append it should hold is no longer known), so
 * {@code checked} says how many pages the verdict covers.
 */
final class Freshness {
    private static final byte[] ID_FIELD = MiniHttp.bytes("{\"id\":\"");

    /** Pages checked against an acknowledged append, how many missed it, and the first that did. */
    record Counts(long checked, long stale, String firstStale) {
        Counts since(Counts earlier) {
            return new Counts(checked - earlier.checked, stale - earlier.stale,
                    stale > earlier.stale ? firstStale : null);
        }
    }

    private record Ack(long messageId, long atNanos) {
    }

    private final ConcurrentHashMap<Long, Ack> acknowledged = new ConcurrentHashMap<>();
    private final LongAdder checked = new LongAdder();
    private final LongAdder stale = new LongAdder();
    private final AtomicReference<String> firstStale = new AtomicReference<>();

    /** An append to {@code conversationId} was acknowledged with this 201 body (the message, its id first). */
    void appended(long conversationId, byte[] body, int length) {
        long id = newestId(body, length);
        if (id > 0) {
            Ack ack = new Ack(id, System.nanoTime());
            acknowledged.merge(conversationId, ack, (had, now) -> had.messageId() >= now.messageId() ? had : now);
        }
    }

    /**
     * Whether a latest page of {@code conversationId} requested at {@code beganNanos} has an append to be held to:
     * one acknowledged before the request began. A client asks first, so that it unzips only the pages checked.
     */
    boolean checks(long conversationId, long beganNanos) {
        Ack ack = acknowledged.get(conversationId);
        return ack != null && ack.atNanos() < beganNanos;
    }

    /** A latest page of {@code conversationId}, requested at {@code beganNanos}, answered this body. */
    void read(long conversationId, long beganNanos, byte[] body, int length) {
        Ack ack = acknowledged.get(conversationId);
        if (ack == null || ack.atNanos() >= beganNanos) {
            return;
        }
        checked.increment();
        long newest = newestId(body, length);
        if (newest < ack.messageId()) {
            stale.increment();
            firstStale.compareAndSet(null, "conversation %d: page's newest message %d, acknowledged %d %.1f ms before the read"
                    .formatted(conversationId, newest, ack.messageId(), (beganNanos - ack.atNanos()) / 1e6));
        }
    }

    Counts counts() {
        return new Counts(checked.sum(), stale.sum(), firstStale.get());
    }

    /**
     * The id of the last object in the JSON whose first field is {@code "id":"N"}: the newest message of a
     * page (Parley sends pages oldest first and writes a message's id first), or the one message of an
     * append's answer. Scanned from the end, so a 28 KB page costs the client little. A JSON string
     * cannot hold {@code {"id":"} unescaped, so only objects match; 0 when none does.
     */
    static long newestId(byte[] body, int length) {
        for (int i = length - ID_FIELD.length; i >= 0; i--) {
            if (body[i] == '{' && startsWithIdField(body, i)) {
                long id = 0;
                for (int j = i + ID_FIELD.length; j < length && body[j] >= '0' && body[j] <= '9'; j++) {
                    id = id * 10 + (body[j] - '0');
                }
                return id;
            }
        }
        return 0;
    }

    private static boolean startsWithIdField(byte[] body, int at) {
        for (int k = 1; k < ID_FIELD.length; k++) {
            if (body[at + k] != ID_FIELD[k]) {
                return false;
            }
        }
        return true;
    }
}
