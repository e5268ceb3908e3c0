package io.avance.api.hypervisor;

import java.util.Objects;

/**
 * Whether an adapter can run on this machine, and if not, what is missing.
 *
 * @param available true if {@link HypervisorAdapter#open} can be expected to succeed
 * @param reason    what is missing (for example "/dev/xen/privcmd not found: this is not a Xen
 *                  dom0"), or "available"
 */
public record Availability(boolean available, String reason) {

    /**
     * Validates the fields.
     */
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * The adapter can run here.
     *
     * @return an available result
     */
    public static Availability yes() {
        return new Availability(true, "available");
    }

    /**
     * The adapter cannot run here.
     *
     * @param reason what is missing
     * @return an unavailable result
     */
    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
