package io.avance.core.pair;

import io.avance.api.NodeId;
import io.avance.api.failover.PairTimings;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.PublicPath;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the controller needs from a node's configuration.
 *
 * @param self            this node
 * @param peer            the peer, or empty for a standalone node
 * @param publicNetworks  the names of the public networks, in configuration order
 * @param timings         the pair's timing rules
 * @param phiThreshold    the phi at which a path's detector suspects the peer
 * @param witnessConfigured whether a quorum witness is configured
 */
public record ControllerSettings(NodeId self, Optional<NodeId> peer, List<String> publicNetworks,
                                 PairTimings timings, double phiThreshold, boolean witnessConfigured) {

    /**
     * Validates and copies the fields.
     */
    public ControllerSettings {
        Objects.requireNonNull(self, "self");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(timings, "timings");
        publicNetworks = List.copyOf(publicNetworks);
    }

    /**
     * The settings of a configured node.
     *
     * @param config            the node's configuration
     * @param witnessConfigured whether the embedding program supplied a witness
     * @return the settings
     */
    public static ControllerSettings from(NodeConfig config, boolean witnessConfigured) {
        return new ControllerSettings(config.nodeId(), config.peer().map(NodeConfig.Peer::id),
                config.publicPaths().stream().map(PublicPath::name).toList(), config.timings(),
                config.phiThreshold(), witnessConfigured);
    }

    /**
     * The parity of the epochs this node may claim without its peer's promise: 0 for the node with
     * the smaller id, 1 for the other.
     *
     * @return 0 or 1
     */
    public int unilateralParity() {
        return peer.map(other -> self.compareTo(other) < 0 ? 0 : 1).orElse(0);
    }
}
