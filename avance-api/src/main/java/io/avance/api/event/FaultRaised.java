package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.health.Fault;
import java.time.Instant;

/**
 * A fault became active on a node, or an active fault changed.
 *
 * @param time  when
 * @param node  the node with the fault
 * @param fault the fault
 * @param score the node's health score afterwards
 */
public record FaultRaised(Instant time, NodeId node, Fault fault, int score) implements PairEvent {
}
