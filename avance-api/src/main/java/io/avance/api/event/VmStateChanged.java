package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.VmState;
import java.time.Instant;

/**
 * A VM's state changed on a node (it started, crashed, was restarted, migrated away or in).
 *
 * @param time   when
 * @param node   the node
 * @param vm     the VM
 * @param from   the old state
 * @param to     the new state
 * @param reason why
 */
public record VmStateChanged(Instant time, NodeId node, String vm, VmState from, VmState to, String reason)
        implements PairEvent {
}
