package dev.parley.db;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Time-ordered 64-bit ids for conversations and messages: milliseconds since 2000-01-01 UTC in
 * the high 41 bits (good until 2069), 22 low bits that make each id unique.
 *
 * <p>The low bits come from blocks of {@value #BLOCK_SIZE} values reserved with one
 * {@code nextval('parley_id_blocks')}, so any number of Parley instances share one id space with
 * one sequence call per thousand ids. A block is dropped after a second, so two ids could only
 * collide if some 4 million ids were drawn within that second. Ids from one instance only grow, and
 * {@link #next} can be told to stay above a floor (the conversation's last message), which keeps a
 * conversation's ids in the order of its sequence numbers even when instances' clocks disagree.
 * A floor ahead of this instance's clock (a message whose client's clock ran ahead, within the skew
 * an original created_at may have) lifts that call's ids alone: every other conversation, in every
 * app, goes on drawing ids at the clock's time.
 */
public final class Ids {
    public static final long EPOCH_MILLIS = 946_684_800_000L; // 2000-01-01T00:00:00Z
    static final int LOW_BITS = 22;
    private static final long MAX_OFFSET_MILLIS = Long.MAX_VALUE >> LOW_BITS;
    static final long LOW_MASK = (1L << LOW_BITS) - 1;
    static final int BLOCK_SIZE = 1024;
    static final long BLOCK_LIFETIME_MILLIS = 1000;

    private static final Query RESERVE_BLOCK = new Query("ids.reserve_block",
            "SELECT nextval('parley_id_blocks')");

    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private long blockNext;
    private long blockEnd;
    private long blockTakenAt;
    private long lastId;

    public Ids(Clock clock) {
        this.clock = clock;
    }

    /** {@code count} increasing ids, all greater than {@code floorExclusive}; may reserve blocks through {@code handle}. */
    public long[] next(int count, long floorExclusive, Handle handle) throws SQLException {
        lock.lock();
        try {
            long[] ids = new long[count];
            long floor = Math.max(floorExclusive, lastId);
            for (int i = 0; i < count; i++) {
                long low = takeLow(handle) & LOW_MASK;
                long millis = Math.max(clock.millis() - EPOCH_MILLIS, floor >> LOW_BITS);
                long id = millis << LOW_BITS | low;
                if (id <= floor) {
                    id = (millis + 1) << LOW_BITS | low;
                }
                ids[i] = id;
                floor = id;
            }
            // A conversation's floor ahead of the clock lifted these ids: they stay that conversation's, not the instance's order.
            boolean lifted = floorExclusive > Math.max(lastId, (clock.millis() - EPOCH_MILLIS) << LOW_BITS | LOW_MASK);
            if (!lifted) {
                lastId = floor;
            }
            return ids;
        } finally {
            lock.unlock();
        }
    }

    /**
     * An id at {@code time}, an original time given by an import, greater than {@code floorExclusive}
     * (the conversation's newest message); it leaves this instance's own order of ids alone. Within the
     * floor's millisecond it is the floor plus one; null when {@code time} is before that millisecond.
     */
    public Long at(Instant time, long floorExclusive, Handle handle) throws SQLException {
        lock.lock();
        try {
            long millis = time.toEpochMilli() - EPOCH_MILLIS;
            long id = millis << LOW_BITS | (takeLow(handle) & LOW_MASK);
            if (id > floorExclusive) {
                return id;
            }
            return millis == floorExclusive >> LOW_BITS ? floorExclusive + 1 : null;
        } finally {
            lock.unlock();
        }
    }

    public long next(Handle handle) throws SQLException {
        return next(1, Long.MIN_VALUE, handle)[0];
    }

    private long takeLow(Handle handle) throws SQLException {
        long now = clock.millis();
        if (blockNext == blockEnd || now - blockTakenAt > BLOCK_LIFETIME_MILLIS) {
            long block = handle.first(RESERVE_BLOCK, row -> row.getLong(1)).orElseThrow();
            blockNext = block * BLOCK_SIZE;
            blockEnd = blockNext + BLOCK_SIZE;
            blockTakenAt = now;
        }
        return blockNext++;
    }

    /**
     * The smallest id at or after {@code time}: the lower bound of that instant in id space. Ids encode about 69
     * years either side of 2000; a time beyond them is held to their first or last millisecond, so the bound stays
     * below (or above) every id rather than wrapping round to one in the middle.
     */
    public static long floorOf(Instant time) {
        return Math.clamp(time.toEpochMilli() - EPOCH_MILLIS, -MAX_OFFSET_MILLIS, MAX_OFFSET_MILLIS) << LOW_BITS;
    }

    /** The instant an id was made, to the millisecond. */
    public static Instant timeOf(long id) {
        return Instant.ofEpochMilli((id >> LOW_BITS) + EPOCH_MILLIS);
    }
}
