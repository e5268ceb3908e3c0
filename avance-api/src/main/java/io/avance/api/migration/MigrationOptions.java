package io.avance.api.migration;

import java.time.Duration;
import java.util.Objects;

/**
 * How a migration should trade total time against pause.
 *
 * @param pauseTarget               the longest the VM should be paused; the last round starts
 *                                  when the remaining pages can be sent within it at the
 *                                  measured bandwidth
 * @param maxRounds                 the most pre-copy rounds before pausing anyway (a guest that
 *                                  dirties memory faster than it can be sent never converges)
 * @param bandwidthLimitBytesPerSecond the most bytes per second to send; 0 for no limit
 */
public record MigrationOptions(Duration pauseTarget, int maxRounds, long bandwidthLimitBytesPerSecond) {

    /** 50 ms pause target, 30 rounds, no bandwidth limit. */
    public static final MigrationOptions DEFAULT = new MigrationOptions(Duration.ofMillis(50), 30, 0);

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a value is out of range
     */
    public MigrationOptions {
        Objects.requireNonNull(pauseTarget, "pauseTarget");
        if (pauseTarget.isNegative() || pauseTarget.isZero()) {
            throw new IllegalArgumentException("pause target must be positive, was " + pauseTarget);
        }
        if (maxRounds < 1) {
            throw new IllegalArgumentException("max rounds must be at least 1, was " + maxRounds);
        }
        if (bandwidthLimitBytesPerSecond < 0) {
            throw new IllegalArgumentException("bandwidth limit must not be negative, was "
                    + bandwidthLimitBytesPerSecond);
        }
    }
}
