package io.avance.api.hypervisor;

import java.time.Instant;
import java.util.Objects;

/**
 * Something that happened to a VM, as its hypervisor reports it.
 *
 * @param vm     the VM's name
 * @param kind   what happened
 * @param time   when the adapter saw it
 * @param detail what the hypervisor said (an exit reason, a crash message)
 */
public record VmEvent(String vm, Kind kind, Instant time, String detail) {

    /**
     * Validates the fields.
     */
    public VmEvent {
        Objects.requireNonNull(vm, "vm");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(detail, "detail");
    }

    /** What happened to a VM. */
    public enum Kind {
        /** It started running. */
        STARTED,
        /** It was paused. */
        PAUSED,
        /** It was resumed. */
        RESUMED,
        /** It shut down on request, or the guest powered off. */
        SHUT_DOWN,
        /** The guest or its emulation died unexpectedly. */
        CRASHED,
        /** It was destroyed. */
        DESTROYED,
        /** It rebooted. */
        REBOOTED
    }
}
