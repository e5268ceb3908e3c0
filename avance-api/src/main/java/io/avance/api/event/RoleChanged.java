package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import java.time.Instant;

/**
 * A node's role changed.
 *
 * @param time   when
 * @param node   the node
 * @param from   the old role
 * @param to     the new role
 * @param epoch  the epoch the node is now in
 * @param reason why
 */
public record RoleChanged(Instant time, NodeId node, PairRole from, PairRole to, long epoch, String reason)
        implements PairEvent {
}
