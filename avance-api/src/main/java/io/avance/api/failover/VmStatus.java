package io.avance.api.failover;

import io.avance.api.hypervisor.VmState;
import java.util.Objects;

/**
 * One VM on this node, as the failover policy needs to see it.
 *
 * @param name                  the VM
 * @param state                 its state
 * @param recentRestarts        restarts within the policy's restart window
 * @param sinceLastRestartNanos time since it was last restarted; {@link Long#MAX_VALUE} if never
 */
public record VmStatus(String name, VmState state, int recentRestarts, long sinceLastRestartNanos) {

    /**
     * Validates the fields.
     */
    public VmStatus {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(state, "state");
    }
}
