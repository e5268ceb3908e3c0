package io.avance.api.event;

import io.avance.api.NodeId;
import java.time.Instant;

/**
 * Something that happened on a node of the pair.
 *
 * <p>New kinds of event are added as the engine grows; listeners should ignore kinds they do not
 * know.
 */
public interface PairEvent {

    /**
     * When it happened, by the node's wall clock.
     *
     * @return the time
     */
    Instant time();

    /**
     * The node that reports it.
     *
     * @return the node
     */
    NodeId node();
}
