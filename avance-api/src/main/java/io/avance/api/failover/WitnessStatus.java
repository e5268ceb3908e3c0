package io.avance.api.failover;

/**
 * What a node last heard from the quorum witness.
 */
public enum WitnessStatus {
    /** The pair has no witness. */
    NOT_CONFIGURED,
    /** Not asked yet, or the last answer is too old to count. */
    NOT_ASKED,
    /** This node holds a valid lease on its epoch (a primary), or was granted a new one (a backup). */
    GRANTED,
    /** The witness refused: the other node holds a later epoch or a valid lease. */
    REFUSED,
    /** The witness did not answer. */
    UNREACHABLE
}
