package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token bucket per key, driven by a ticker the test moves. */
class RateLimiterTest {
    private final AtomicLong nanos = new AtomicLong();
    private final RateLimiter limiter = new RateLimiter(10, 5, nanos::get);

    @Test
    void a_burst_is_allowed_then_refused_with_the_wait_until_the_next_token() {
        for (int i = 0; i < 5; i++) {
            var verdict = limiter.admit("key");
            assertThat(verdict.allowed()).isTrue();
            assertThat(verdict.remaining()).isEqualTo(4 - i);
        }
        var refused = limiter.admit("key");

        assertThat(refused.allowed()).isFalse();
        assertThat(refused.limit()).isEqualTo(5);
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);
        assertThat(refused.resetSeconds()).isEqualTo(1); // 5 tokens at 10 a second
    }

    @Test
    void tokens_come_back_at_the_rate_and_keys_do_not_share_a_bucket() {
        for (int i = 0; i < 5; i++) {
            limiter.admit("busy");
        }
        assertThat(limiter.admit("busy").allowed()).isFalse();
        assertThat(limiter.admit("other").allowed()).isTrue();

        nanos.addAndGet(100_000_000L); // a tenth of a second: one token at 10 a second

        assertThat(limiter.admit("busy").allowed()).isTrue();
        assertThat(limiter.admit("busy").allowed()).isFalse();
    }
}
