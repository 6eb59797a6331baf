package dev.parley.db;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The pool's connections, handed out in turns. Within one lane (an app) callers are served first
 * come, first served; between lanes in round robin, so a burst from one app queues behind itself
 * instead of in front of every other app. A lane holds at most {@code laneCap} connections at once.
 * A caller whose expected wait (the callers ahead of it, times the recent mean time a connection is
 * held, divided by the connections it may use) exceeds its deadline is refused at once: it would
 * only have timed out later, holding a thread and a queue slot meanwhile.
 *
 * <p>The lane {@code null} (background work: group commit, maintenance) is never capped.
 */
final class Turns {
    /** Past this many waiting callers in one lane, further callers are refused whatever the estimate. */
    static final int MAX_WAITING_PER_LANE = 1000;
    private static final double HOLD_WEIGHT = 0.1; // exponentially weighted mean of hold times

    /** Why a caller did not get a connection. */
    enum Refusal { QUEUE_FULL, WAIT_TOO_LONG, TIMED_OUT }

    /** Thrown by {@link #take}; the message says why, in words for the client. */
    static final class Refused extends Exception {
        final Refusal reason;

        Refused(Refusal reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    private static final class Waiter {
        final Condition granted;
        boolean served;

        Waiter(Condition granted) {
            this.granted = granted;
        }
    }

    private static final Object BACKGROUND = new Object();

    private final int permits;
    private final int laneCap;
    private final LongSupplier nanoTime;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Object, Integer> held = new HashMap<>();
    private final LinkedHashMap<Object, ArrayDeque<Waiter>> waiting = new LinkedHashMap<>();
    private int free;
    private double meanHoldNanos;

    Turns(int permits, int laneCap, LongSupplier nanoTime) {
        this.permits = permits;
        this.laneCap = Math.max(1, Math.min(laneCap, permits));
        this.nanoTime = nanoTime;
        this.free = permits;
    }

    /**
     * Waits for a connection of {@code lane}'s until {@code deadlineNanos} ({@code timeoutMillis} from now, for
     * messages); returns the time it was granted.
     */
    long take(Object lane, long deadlineNanos, long timeoutMillis) throws Refused, InterruptedException {
        Object key = lane == null ? BACKGROUND : lane;
        lock.lock();
        try {
            ArrayDeque<Waiter> queue = waiting.get(key);
            if ((queue == null || queue.isEmpty()) && mayHold(key) && free > 0) {
                grant(key);
                return nanoTime.getAsLong();
            }
            refuseIfHopeless(key, queue == null ? 0 : queue.size(), deadlineNanos, timeoutMillis);
            return await(key, deadlineNanos, timeoutMillis);
        } finally {
            lock.unlock();
        }
    }

    /** Gives back a connection taken at {@code takenAt}, and hands it to the next lane in turn. */
    void give(Object lane, long takenAt) {
        Object key = lane == null ? BACKGROUND : lane;
        lock.lock();
        try {
            long heldFor = nanoTime.getAsLong() - takenAt;
            meanHoldNanos = meanHoldNanos == 0 ? heldFor : meanHoldNanos + HOLD_WEIGHT * (heldFor - meanHoldNanos);
            held.merge(key, -1, Integer::sum);
            free++;
            handOut();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Callers waiting now whose lane holds its share ({@code atShare}), or the rest, who wait for any connection to come
     * free. HikariCP never sees either: only callers with a turn ask it for a connection, so its pending count stays 0.
     */
    int waiting(boolean atShare) {
        lock.lock();
        try {
            int count = 0;
            for (var lane : waiting.entrySet()) {
                if (mayHold(lane.getKey()) != atShare) {
                    count += lane.getValue().size();
                }
            }
            return count;
        } finally {
            lock.unlock();
        }
    }

    /** "free=0 of 10, waiting=42 in 3 lane(s), at most 8 per app, mean hold 12.5 ms": for errors and logs. */
    String state() {
        lock.lock();
        try {
            return stateLocked();
        } finally {
            lock.unlock();
        }
    }

    private boolean mayHold(Object key) {
        return key == BACKGROUND || held.getOrDefault(key, 0) < laneCap;
    }

    private void grant(Object key) {
        held.merge(key, 1, Integer::sum);
        free--;
    }

    private void refuseIfHopeless(Object key, int ahead, long deadlineNanos, long timeoutMillis) throws Refused {
        if (ahead >= MAX_WAITING_PER_LANE) {
            throw new Refused(Refusal.QUEUE_FULL, "refused at once: " + ahead + " requests of this app already wait "
                    + "for a database connection");
        }
        int usable = key == BACKGROUND ? permits : laneCap;
        double expectedWait = (ahead + 1) * meanHoldNanos / usable;
        if (expectedWait > deadlineNanos - nanoTime.getAsLong()) {
            throw new Refused(Refusal.WAIT_TOO_LONG, "refused at once: the expected wait for a database connection is "
                    + Math.round(expectedWait / 1e6) + " ms, past the " + timeoutMillis + " ms limit");
        }
    }

    private long await(Object key, long deadlineNanos, long timeoutMillis) throws Refused, InterruptedException {
        var waiter = new Waiter(lock.newCondition());
        waiting.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(waiter);
        try {
            long left = deadlineNanos - nanoTime.getAsLong();
            while (!waiter.served) {
                if (left <= 0) {
                    throw new Refused(Refusal.TIMED_OUT, "no database connection came free within " + timeoutMillis + " ms");
                }
                left = waiter.granted.awaitNanos(left);
            }
            return nanoTime.getAsLong();
        } catch (InterruptedException e) {
            if (waiter.served) { // granted as we were interrupted: pass the connection on
                held.merge(key, -1, Integer::sum);
                free++;
                handOut();
            }
            throw e;
        } finally {
            if (!waiter.served) {
                remove(key, waiter);
            }
        }
    }

    /** Grants free connections to waiting lanes in round robin, each lane's longest waiter first. */
    private void handOut() {
        boolean progress = true;
        while (free > 0 && progress) {
            progress = false;
            Iterator<Map.Entry<Object, ArrayDeque<Waiter>>> lanes = waiting.entrySet().iterator();
            Object served = null;
            while (lanes.hasNext()) {
                var lane = lanes.next();
                if (mayHold(lane.getKey())) {
                    Waiter next = lane.getValue().pollFirst();
                    next.served = true;
                    grant(lane.getKey());
                    next.granted.signal();
                    served = lane.getKey();
                    break;
                }
            }
            if (served != null) {
                ArrayDeque<Waiter> rest = waiting.remove(served); // to the back of the round
                if (!rest.isEmpty()) {
                    waiting.put(served, rest);
                }
                progress = true;
            }
        }
    }

    private void remove(Object key, Waiter waiter) {
        ArrayDeque<Waiter> queue = waiting.get(key);
        if (queue != null) {
            queue.remove(waiter);
            if (queue.isEmpty()) {
                waiting.remove(key);
            }
        }
    }

    private String stateLocked() {
        int queued = waiting.values().stream().mapToInt(ArrayDeque::size).sum();
        return "free=" + free + " of " + permits + ", waiting=" + queued + " in " + waiting.size() + " lane(s), at most "
                + laneCap + " per app, mean hold " + String.format("%.1f", meanHoldNanos / 1e6) + " ms";
    }
}
