package io.avance.api.event;

import io.avance.api.NodeId;
import io.avance.api.failover.FailoverDecision;
import java.time.Instant;

/**
 * The node carried out a failover decision other than staying put.
 *
 * @param time     when
 * @param node     the node
 * @param decision what was decided
 * @param outcome  what came of it ("done", "refused: ...", "failed: ...")
 */
public record DecisionTaken(Instant time, NodeId node, FailoverDecision decision, String outcome)
        implements PairEvent {
}
