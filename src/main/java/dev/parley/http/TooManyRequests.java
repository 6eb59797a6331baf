package dev.parley.http;

/** The API key used up its request rate (PARLEY_RATE_LIMIT); {@link #retryAfterSeconds} says when a token is back. */
final class TooManyRequests extends RuntimeException {
    private final long retryAfterSeconds;

    TooManyRequests(int burst, double rate, long retryAfterSeconds) {
        super("this API key is over its rate limit of " + Math.round(rate) + " requests a second, " + burst
                + " at once (PARLEY_RATE_LIMIT, PARLEY_RATE_BURST); retry after " + retryAfterSeconds + " s");
        this.retryAfterSeconds = retryAfterSeconds;
    }

    long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
