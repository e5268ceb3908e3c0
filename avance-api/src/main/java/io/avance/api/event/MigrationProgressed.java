package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.migration.MigrationProgress;
import java.time.Instant;

/**
 * A live migration made progress (a round ended, or it entered a new phase). Published by the
 * source node.
 *
 * @param time     when
 * @param node     the source node
 * @param progress where the migration stands
 */
public record MigrationProgressed(Instant time, NodeId node, MigrationProgress progress) implements PairEvent {
}
