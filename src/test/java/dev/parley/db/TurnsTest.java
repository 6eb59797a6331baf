package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.support.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Taking turns for connections: fair between apps, capped per app, refusing at once what would time out. */
class TurnsTest {
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);

    @Test
    void an_app_holds_at_most_its_share_and_another_app_gets_a_connection_at_once() throws Exception {
        var turns = new Turns(4, 2, now::get);
        turns.take("flood", deadline(), 60_000);
        turns.take("flood", deadline(), 60_000);

        var third = CompletableFuture.supplyAsync(() -> takeQuietly(turns, "flood"));
        long quiet = turns.take("quiet", deadline(), 60_000);

        assertThat(quiet).isPositive();
        assertThat(third).as("the flooding app waits for its own connections").isNotDone();
        turns.give("flood", now.get());
        assertThat(third.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void apps_take_turns_in_round_robin_not_in_arrival_order() throws Exception {
        var turns = new Turns(1, 1, now::get);
        long held = turns.take(null, deadline(), 60_000);
        List<String> served = new CopyOnWriteArrayList<>();
        List<Thread> waiters = new ArrayList<>();
        for (String app : List.of("a", "a", "a", "b")) { // b arrives last, behind three of a's
            Thread waiter = Thread.ofVirtual().start(() -> {
                try {
                    long takenAt = turns.take(app, deadline(), 60_000);
                    served.add(app);
                    turns.give(app, takenAt);
                } catch (Exception e) {
                    served.add("failed " + e);
                }
            });
            waiters.add(waiter);
            awaitWaiting(turns, waiters.size());
        }

        turns.give(null, held);
        for (Thread waiter : waiters) {
            waiter.join(5_000);
        }

        assertThat(served).containsExactly("a", "b", "a", "a");
    }

    @Test
    void a_caller_whose_expected_wait_exceeds_its_deadline_is_refused_at_once() throws Exception {
        var turns = new Turns(1, 1, now::get);
        long takenAt = turns.take("a", deadline(), 60_000);
        now.addAndGet(3 * SECOND); // connections are held three seconds at a time
        turns.give("a", takenAt);
        turns.take("a", deadline(), 60_000);

        assertThatThrownBy(() -> turns.take("b", now.get() + 2 * SECOND, 2_000))
                .isInstanceOf(Turns.Refused.class)
                .satisfies(e -> assertThat(((Turns.Refused) e).reason).isEqualTo(Turns.Refusal.WAIT_TOO_LONG))
                .hasMessageContaining("expected wait for a database connection is 3000 ms, past the 2000 ms limit");
    }

    @Test
    void a_caller_still_waiting_at_its_deadline_is_refused_and_leaves_the_queue() throws Exception {
        var turns = new Turns(1, 1, System::nanoTime);
        turns.take("a", System.nanoTime() + SECOND, 1_000);

        assertThatThrownBy(() -> turns.take("b", System.nanoTime() + 50_000_000L, 50))
                .isInstanceOf(Turns.Refused.class)
                .satisfies(e -> assertThat(((Turns.Refused) e).reason).isEqualTo(Turns.Refusal.TIMED_OUT));
        assertThat(turns.state()).contains("waiting=0");
    }

    private long deadline() {
        return now.get() + 60 * SECOND;
    }

    private boolean takeQuietly(Turns turns, String app) {
        try {
            turns.take(app, deadline(), 60_000);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static void awaitWaiting(Turns turns, int count) {
        Wait.until(count + " waiting", Duration.ofSeconds(5), () -> turns.state().contains("waiting=" + count + " "));
    }
}
