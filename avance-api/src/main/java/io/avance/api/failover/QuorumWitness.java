package io.avance.api.failover;

import io.avance.api.NodeId;
import java.time.Duration;

/**
 * An optional third party that breaks ties between the two nodes, so that a pair stays safe
 * even when every path between the nodes fails while both keep running.
 *
 * <p>The witness records one epoch, the node holding it, and when that node's lease ends.
 * {@link #claim} grants the claim if
 * <ul>
 *   <li>the claimed epoch is the recorded one and the claimant holds it (a renewal), or</li>
 *   <li>the claimed epoch is later than the recorded one and the holder's lease has ended (or the
 *       holder is the claimant).</li>
 * </ul>
 * and refuses it otherwise. A primary that cannot hear its peer keeps serving only while it
 * holds a lease; a backup takes over only when its claim on a new epoch is granted, which cannot
 * happen before the old primary's lease has run out.
 *
 * <p>Implementations are thread-safe. Calls block for at most the implementation's timeout and
 * then answer {@link WitnessAnswer.Outcome#UNREACHABLE}; they never throw for network trouble.
 */
public interface QuorumWitness {

    /**
     * Claims, or renews, an epoch.
     *
     * @param node  the claimant
     * @param epoch the epoch claimed
     * @param lease how long the claimant asks to hold it
     * @return the witness's answer
     */
    WitnessAnswer claim(NodeId node, long epoch, Duration lease);
}
