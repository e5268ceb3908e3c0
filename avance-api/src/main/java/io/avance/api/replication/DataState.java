package io.avance.api.replication;

/**
 * What a node knows about the freshness of its copy of the replicated data.
 *
 * <p>The failover policy lets a node take over only with {@link #UP_TO_DATE} data, or with
 * {@link #CONSISTENT} data when it was the last primary and its peer cannot be heard. A node
 * with no volumes is {@link #UP_TO_DATE}. Declared from best to worst, so that
 * {@link #worse(DataState)} can combine volumes.
 */
public enum DataState {
    /** Holds every write any client saw acknowledged: the primary, or a backup in sync. */
    UP_TO_DATE,
    /** A complete, crash-consistent copy that may lack recent writes (restarted without its peer). */
    CONSISTENT,
    /** Known to lack writes the primary made while this node was away. */
    OUTDATED,
    /** Partly resynchronised: not usable until the resync ends. */
    INCONSISTENT,
    /** The local disk failed: this node has no usable copy. */
    FAILED;

    /**
     * The worse of two states, for combining several volumes into one.
     *
     * @param other another state
     * @return whichever of the two is later in declaration order
     */
    public DataState worse(DataState other) {
        return compareTo(other) >= 0 ? this : other;
    }

    /**
     * Tells whether this copy may be served to clients without losing acknowledged writes,
     * as far as this node knows.
     *
     * @return true for {@link #UP_TO_DATE} and {@link #CONSISTENT}
     */
    public boolean usable() {
        return this == UP_TO_DATE || this == CONSISTENT;
    }
}
