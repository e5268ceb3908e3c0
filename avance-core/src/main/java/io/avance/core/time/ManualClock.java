package io.avance.core.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock that moves only when told to: both a {@link NanoClock} and a wall {@link Clock} whose
 * instant advances with it. For tests and the deterministic simulation.
 *
 * <p>Thread-safe: reads and advances are atomic with respect to each other.
 */
public final class ManualClock extends Clock implements NanoClock {

    private final Instant wallOrigin;
    private final ZoneId zone;
    private long nanos;

    /**
     * A clock at monotonic time zero and wall time {@code 2026-01-01T00:00:00Z}.
     */
    public ManualClock() {
        this(Instant.parse("2026-01-01T00:00:00Z"), 0L);
    }

    /**
     * A clock starting at the given readings.
     *
     * @param wallOrigin the wall time when the monotonic reading is {@code startNanos}
     * @param startNanos the first monotonic reading
     */
    public ManualClock(Instant wallOrigin, long startNanos) {
        this(wallOrigin, startNanos, ZoneOffset.UTC);
    }

    private ManualClock(Instant wallOrigin, long startNanos, ZoneId zone) {
        this.wallOrigin = wallOrigin.minusNanos(startNanos);
        this.nanos = startNanos;
        this.zone = zone;
    }

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    /**
     * Moves the clock forward.
     *
     * @param deltaNanos how far; not negative
     * @return the new reading
     */
    public synchronized long advance(long deltaNanos) {
        if (deltaNanos < 0) {
            throw new IllegalArgumentException("a clock never goes back: " + deltaNanos);
        }
        nanos += deltaNanos;
        return nanos;
    }

    /**
     * Moves the clock forward.
     *
     * @param delta how far
     * @return the new reading
     */
    public long advance(Duration delta) {
        return advance(delta.toNanos());
    }

    /**
     * Moves the clock to a reading, if that is not in the past.
     *
     * @param readingNanos the reading to reach
     */
    public synchronized void advanceTo(long readingNanos) {
        if (readingNanos > nanos) {
            nanos = readingNanos;
        }
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId newZone) {
        throw new UnsupportedOperationException("a manual clock has one zone");
    }

    @Override
    public synchronized Instant instant() {
        return wallOrigin.plusNanos(nanos);
    }
}
