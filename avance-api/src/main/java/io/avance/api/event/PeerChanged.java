package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import java.time.Instant;

/**
 * What a node knows of its peer changed: it was heard for the first time, its role changed, it
 * went silent on every path, or it was declared down.
 *
 * @param time      when
 * @param node      the node that observed it
 * @param peer      the peer
 * @param reachable whether the peer is heard on any path
 * @param role      the peer's role as last heard
 * @param declaredDown whether the peer is declared down
 * @param detail    what changed
 */
public record PeerChanged(Instant time, NodeId node, NodeId peer, boolean reachable, PairRole role,
                          boolean declaredDown, String detail) implements PairEvent {
}
