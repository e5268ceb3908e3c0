package io.avance.core.health;

/**
 * How a node judges its components' failure history and trends.
 *
 * @param mtbfWindowNanos     how far back failures count toward the MTBF estimate
 * @param mtbfThresholdNanos  a component whose estimated MTBF falls below this gets a predicted fault
 * @param mtbfMinFailures     the fewest failures in the window before an estimate counts (one
 *                            failure says nothing about a rate)
 * @param trendHorizonNanos   a reading predicted to cross its threshold within this gets a
 *                            predicted fault
 * @param trendMinSamples     the fewest readings before a trend counts
 * @param trendMaxSamples     how many recent readings a trend is fitted to
 */
public record HealthConfig(long mtbfWindowNanos, long mtbfThresholdNanos, int mtbfMinFailures,
                           long trendHorizonNanos, int trendMinSamples, int trendMaxSamples) {

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a value is out of range
     */
    public HealthConfig {
        if (mtbfWindowNanos <= 0 || mtbfThresholdNanos <= 0 || trendHorizonNanos <= 0) {
            throw new IllegalArgumentException("health windows and thresholds must be positive");
        }
        if (mtbfMinFailures < 2) {
            throw new IllegalArgumentException("an MTBF estimate needs at least 2 failures, was " + mtbfMinFailures);
        }
        if (trendMinSamples < 3 || trendMaxSamples < trendMinSamples) {
            throw new IllegalArgumentException("a trend needs at least 3 samples and room for them: "
                    + trendMinSamples + "/" + trendMaxSamples);
        }
    }

    /**
     * The defaults: failures over the last 7 days, a component failing more often than once a
     * day on average (at least 3 times) is predicted to fail; trends looked at over 64 readings
     * and 24 hours ahead.
     *
     * @return the defaults
     */
    public static HealthConfig defaults() {
        long hour = 3_600_000_000_000L;
        return new HealthConfig(7 * 24 * hour, 24 * hour, 3, 24 * hour, 5, 64);
    }
}
