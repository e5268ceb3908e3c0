package io.avance.api.replication;

/**
 * The replication state of one volume on one node.
 *
 * <pre>
 *   STANDALONE --peer connects--&gt; CONNECTED (generation ids compared)
 *                                   |-- same generation -------------&gt; SYNCED
 *                                   |-- this side newer -------------&gt; SYNC_SOURCE --done--&gt; SYNCED
 *                                   |-- peer newer ------------------&gt; SYNC_TARGET --done--&gt; SYNCED
 *                                   '-- both changed ----------------&gt; SPLIT_BRAIN
 *   SYNCED/SYNC_* --peer lost--&gt; DEGRADED --peer back--&gt; CONNECTED
 *   SPLIT_BRAIN --operator discards one side--&gt; SYNC_SOURCE or SYNC_TARGET
 * </pre>
 */
public enum ReplicationState {
    /** No peer yet (a standalone node): writes are tracked for the peer that will join. */
    STANDALONE,
    /** Connected; generation identifiers being compared to choose what comes next. */
    CONNECTED,
    /** In sync: every write is applied on both nodes before it completes. */
    SYNCED,
    /** Sending the blocks the peer lacks; new writes are replicated as well. */
    SYNC_SOURCE,
    /** Receiving the blocks this node lacks; this copy is inconsistent until it ends. */
    SYNC_TARGET,
    /** The peer is away: writes complete locally and are recorded in the dirty bitmap. */
    DEGRADED,
    /** Both nodes changed the volume independently; replication is off until the operator chooses. */
    SPLIT_BRAIN
}
