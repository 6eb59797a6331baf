package dev.parley.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;

/**
 * A token bucket per API key: {@code rate} requests a second on average, up to {@code burst} at
 * once. Each answer carries the RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers
 * (IETF draft "RateLimit header fields for HTTP"); a refused request gets 429 and Retry-After.
 * Buckets are per instance: behind a load balancer each instance allows the rate on its own.
 */
final class RateLimiter {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /** One request's verdict; seconds are whole and rounded up, as the headers carry them. */
    record Verdict(boolean allowed, int limit, long remaining, long resetSeconds, long retryAfterSeconds) {
    }

    double rate() {
        return rate;
    }

    private final double rate;
    private final int burst;
    private final Ticker ticker;
    private final Cache<String, Bucket> buckets;

    RateLimiter(int rate, int burst, Ticker ticker) {
        this.rate = rate;
        this.burst = Math.max(1, burst);
        this.ticker = ticker;
        this.buckets = Caffeine.newBuilder().ticker(ticker).expireAfterAccess(Duration.ofMinutes(10))
                .maximumSize(100_000).build();
    }

    /** Takes a token from {@code key}'s bucket if it has one. */
    Verdict admit(String key) {
        return buckets.get(key, k -> new Bucket(burst, ticker.read())).take(this);
    }

    private final class Bucket {
        private double tokens;
        private long refilledAt;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.refilledAt = now;
        }

        synchronized Verdict take(RateLimiter limiter) {
            long now = ticker.read();
            tokens = Math.min(burst, tokens + (now - refilledAt) * rate / NANOS_PER_SECOND);
            refilledAt = now;
            boolean allowed = tokens >= 1;
            if (allowed) {
                tokens -= 1;
            }
            long reset = (long) Math.ceil((burst - tokens) / rate);
            long retryAfter = allowed ? 0 : Math.max(1, (long) Math.ceil((1 - tokens) / rate));
            return new Verdict(allowed, burst, (long) Math.floor(tokens), reset, retryAfter);
        }
    }
}
