package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.health.Fault;
import java.time.Instant;

/**
 * A fault stopped being active.
 *
 * @param time  when
 * @param node  the node
 * @param fault the fault that cleared
 * @param score the node's health score afterwards
 */
public record FaultCleared(Instant time, NodeId node, Fault fault, int score) implements PairEvent {
}
