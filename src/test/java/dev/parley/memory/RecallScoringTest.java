package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.support.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A large scope is scored off the carrier threads, a small one where the request runs, and too many large ones wait not. */
class RecallScoringTest {
    @Test
    void a_small_scope_is_scored_on_the_requests_thread_and_a_large_one_on_a_scoring_thread() {
        var scoring = new RecallScoring(1);

        Thread small = scoring.score(RecallScoring.LARGE - 1, Thread::currentThread);
        Thread large = scoring.score(RecallScoring.LARGE, Thread::currentThread);

        assertThat(small).isSameAs(Thread.currentThread());
        assertThat(large.getName()).startsWith("parley-recall-scoring-");
        assertThat(large.isVirtual()).isFalse();
    }

    @Test
    void a_large_recall_past_those_that_may_wait_is_refused_at_once_and_the_others_are_scored() throws Exception {
        var scoring = new RecallScoring(1);
        var release = new CountDownLatch(1);
        try (var requests = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Integer>> admitted = new ArrayList<>();
            for (int i = 0; i <= RecallScoring.WAITING_PER_THREAD; i++) { // one scoring, the rest waiting
                int n = i;
                admitted.add(requests.submit(() -> scoring.score(RecallScoring.LARGE, () -> {
                    await(release);
                    return n;
                })));
            }
            Wait.until("the scoring thread busy and the others waiting", Duration.ofSeconds(10),
                    () -> scoring.waiting() == RecallScoring.WAITING_PER_THREAD);

            assertThatThrownBy(() -> scoring.score(RecallScoring.LARGE, () -> 0)).isInstanceOf(RecallScoring.Busy.class)
                    .hasMessageContaining("retry");
            assertThat(scoring.score(10, () -> 7)).as("a small scope is not held up").isEqualTo(7);

            release.countDown();
            for (int i = 0; i < admitted.size(); i++) {
                assertThat(admitted.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(i);
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
