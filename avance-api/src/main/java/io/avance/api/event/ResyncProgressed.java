package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.replication.ResyncProgress;
import java.time.Instant;

/**
 * A resync made progress (published a few times a second while it runs, and at its end).
 *
 * @param time     when
 * @param node     the node sending the data
 * @param volume   the volume
 * @param progress how far it has come
 */
public record ResyncProgressed(Instant time, NodeId node, String volume, ResyncProgress progress)
        implements PairEvent {
}
