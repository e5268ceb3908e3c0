package io.avance.xen;

import java.time.Duration;
import java.util.Objects;

/**
 * How long the Xen adapter waits for guests and for itself.
 *
 * <p>Immutable and thread-safe.
 *
 * @param shutdownTimeout how long {@code shutdown} waits for the guest to power off
 * @param rebootTimeout   how long {@code reboot} waits for the guest to come back
 * @param closeTimeout    how long {@code close} waits for calls in progress; past it the libxl
 *                        context is left allocated (a leak) rather than freed under a running
 *                        call (a crash)
 */
public record XenAdapterSettings(Duration shutdownTimeout, Duration rebootTimeout, Duration closeTimeout) {

    /**
     * Validates the durations.
     *
     * @throws IllegalArgumentException if one is not positive
     */
    public XenAdapterSettings {
        for (Duration duration : new Duration[] {shutdownTimeout, rebootTimeout, closeTimeout}) {
            Objects.requireNonNull(duration, "timeout");
            if (duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive, was " + duration);
            }
        }
    }

    /**
     * Two minutes for guests (a PVH Linux guest stops in seconds on hardware, and in well under
     * a minute under software emulation), 30 seconds for close.
     *
     * @return the defaults
     */
    public static XenAdapterSettings defaults() {
        return new XenAdapterSettings(Duration.ofMinutes(2), Duration.ofMinutes(2), Duration.ofSeconds(30));
    }
}
