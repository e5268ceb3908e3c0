package io.avance.api.failover;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.health.HealthScore;
import io.avance.api.replication.DataState;
import java.util.Objects;
import java.util.Optional;

/**
 * One node as seen in a {@link PairSnapshot}: exactly, for the node itself; as of its last
 * heartbeat, for the peer.
 *
 * @param id           the node
 * @param role         its role
 * @param epoch        the latest epoch it knows
 * @param epochPrimary the primary of that epoch, if one has been chosen
 * @param health       its health score
 * @param data         the state of its copy of the data
 * @param maintenance  whether an operator put it in maintenance mode (it takes no VMs)
 */
public record NodeView(NodeId id, PairRole role, long epoch, Optional<NodeId> epochPrimary, HealthScore health,
                       DataState data, boolean maintenance) {

    /**
     * Validates the fields.
     */
    public NodeView {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(epochPrimary, "epochPrimary");
        Objects.requireNonNull(health, "health");
        Objects.requireNonNull(data, "data");
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must not be negative: " + epoch);
        }
    }

    /**
     * Tells whether this node was chosen primary of the latest epoch it knows.
     *
     * @return true if {@link #epochPrimary()} names this node
     */
    public boolean primaryOfItsEpoch() {
        return epochPrimary.map(id::equals).orElse(false);
    }
}
