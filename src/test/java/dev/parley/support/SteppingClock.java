package dev.parley.support;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that stands still until the test moves it by hand. */
public final class SteppingClock extends Clock {
    private final AtomicLong millis;

    public SteppingClock(Instant start) {
        millis = new AtomicLong(start.toEpochMilli());
    }

    public void advance(long byMillis) {
        millis.addAndGet(byMillis);
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public ZoneOffset getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
        return this;
    }
}
