package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.replication.ReplicationState;
import java.time.Instant;

/**
 * A volume's replication state changed on a node (a resync started or ended, the peer went away,
 * a split brain was found).
 *
 * @param time   when
 * @param node   the node
 * @param volume the volume
 * @param from   the old state
 * @param to     the new state
 * @param reason why
 */
public record VolumeStateChanged(Instant time, NodeId node, String volume, ReplicationState from,
                                 ReplicationState to, String reason) implements PairEvent {
}
