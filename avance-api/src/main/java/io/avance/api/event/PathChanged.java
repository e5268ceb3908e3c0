package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.failover.PathStatus;
import java.time.Instant;

/**
 * A path to the peer came up or went down, as the failure detector judges it.
 *
 * @param time   when
 * @param node   the node that observed it
 * @param path   the path's new status
 */
public record PathChanged(Instant time, NodeId node, PathStatus path) implements PairEvent {
}
