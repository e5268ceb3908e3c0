package io.avance.core.pair;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PathStatus;
import io.avance.api.health.HealthScore;
import java.util.List;
import java.util.Optional;

/**
 * A consistent picture of one node's pair state, published by the controller after every duty
 * cycle for other threads (the monitor, the command line, tests) to read.
 *
 * @param node              this node
 * @param incarnation       this process's incarnation
 * @param role              its role
 * @param epoch             the latest epoch it knows
 * @param epochPrimary      that epoch's primary
 * @param health            its health score
 * @param peer              the peer as last heard
 * @param paths             every path's status
 * @param peerSilenceNanos  time since the peer was heard on any path
 * @param servingLeaseNanos how long this node may still serve without renewing its lease (0 if it
 *                          may not serve)
 * @param peerDeclaredDown  whether the peer is declared down
 * @param lastDecision      the policy's latest decision
 * @param takeoverAtNanos   the monotonic time this node last became primary, or -1
 */
public record PairStatus(NodeId node, long incarnation, PairRole role, long epoch, Optional<NodeId> epochPrimary,
                         HealthScore health, Optional<NodeView> peer, List<PathStatus> paths, long peerSilenceNanos,
                         long servingLeaseNanos, boolean peerDeclaredDown, FailoverDecision lastDecision,
                         long takeoverAtNanos) {
}
