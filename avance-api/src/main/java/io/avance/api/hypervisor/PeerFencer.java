package io.avance.api.hypervisor;

import io.avance.api.NodeId;
import java.time.Duration;

/**
 * Powers the peer node off through a path that does not depend on the peer's software (a BMC,
 * IPMI, a switched PDU). A node that has fenced its peer may take over at once, without waiting
 * for the isolation rule.
 */
public interface PeerFencer {

    /**
     * Powers the peer off and confirms it is off.
     *
     * @param peer    the node to fence
     * @param timeout how long to try
     * @return the outcome; {@link Outcome#UNKNOWN} when the answer did not come in time
     */
    Outcome fence(NodeId peer, Duration timeout);

    /** The outcome of a fencing attempt. */
    enum Outcome {
        /** The peer is confirmed off. */
        FENCED,
        /** The fencing device refused or failed; the peer may still run. */
        FAILED,
        /** No answer in time; the peer may still run. */
        UNKNOWN
    }
}
