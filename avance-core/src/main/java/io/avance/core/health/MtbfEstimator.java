package io.avance.core.health;

import java.util.Collection;

/**
 * Estimates a component's mean time between failures from the times it failed.
 *
 * <p>The estimate is the observed time divided by the number of failures seen in it: the
 * maximum-likelihood estimate for a constant failure rate. The observed time is the window, or
 * less if the node has not been watching that long, so that a young node with two quick failures
 * is not credited with a week of good behaviour it never showed. Pure and thread-safe.
 */
public final class MtbfEstimator {

    /** The estimate when there are too few failures to say anything. */
    public static final long UNKNOWN = Long.MAX_VALUE;

    private MtbfEstimator() {
    }

    /**
     * Estimates the MTBF.
     *
     * @param failureTimesNanos when the component failed (monotonic readings)
     * @param watchedSinceNanos when the node started watching the component
     * @param nowNanos          the current reading
     * @param windowNanos       how far back failures count
     * @param minFailures       the fewest failures for an estimate
     * @return the estimate in nanoseconds, or {@link #UNKNOWN} with fewer than {@code minFailures}
     *         failures in the window
     */
    public static long estimate(Collection<Long> failureTimesNanos, long watchedSinceNanos, long nowNanos,
                                long windowNanos, int minFailures) {
        long windowStart = nowNanos - windowNanos;
        int failures = 0;
        for (long time : failureTimesNanos) {
            if (time > windowStart && time <= nowNanos) {
                failures++;
            }
        }
        if (failures < minFailures) {
            return UNKNOWN;
        }
        long observed = Math.min(windowNanos, Math.max(1, nowNanos - watchedSinceNanos));
        return observed / failures;
    }
}
