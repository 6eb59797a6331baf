package dev.parley.support;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The system's clock, moved ahead by hand: time a test skips instead of waiting for it. It runs on as
 * the system's does, so what needs time to pass (ids, timestamps) still sees it pass.
 */
public final class TestClock extends Clock {
    private final AtomicLong aheadMillis = new AtomicLong();

    public void advance(Duration by) {
        aheadMillis.addAndGet(by.toMillis());
    }

    @Override
    public long millis() {
        return System.currentTimeMillis() + aheadMillis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a test clock keeps UTC");
    }
}
