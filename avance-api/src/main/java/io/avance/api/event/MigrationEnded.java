package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.migration.MigrationReport;
import java.time.Instant;

/**
 * A live migration ended: completed, cancelled or failed (the VM then runs on the source).
 * Published by the source node.
 *
 * @param time   when
 * @param node   the source node
 * @param report what it did
 */
public record MigrationEnded(Instant time, NodeId node, MigrationReport report) implements PairEvent {
}
