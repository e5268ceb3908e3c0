package io.avance.core.time;

/**
 * A monotonic clock with nanosecond resolution, for intervals and deadlines.
 *
 * <p>Values are meaningful only as differences between readings of the same clock. Thread-safe.
 */
@FunctionalInterface
public interface NanoClock {

    /**
     * The current reading.
     *
     * @return nanoseconds from an arbitrary origin; never decreases
     */
    long nanoTime();

    /**
     * The JVM's monotonic clock.
     *
     * @return a clock reading {@code System.nanoTime()}
     */
    static NanoClock system() {
        return SystemNanoClock.INSTANCE;
    }
}
