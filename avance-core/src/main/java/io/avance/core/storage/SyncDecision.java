package io.avance.core.storage;

/**
 * What to do when the two copies of a volume meet again: the comparison of their generations.
 *
 * <pre>
 *   primary P, backup B                                    decision
 *   P.current == B.current                                 IN_SYNC (resync only dirty bits, if any)
 *   B.current == ZERO and B never written, P tracked from   BITMAP from P (P's bitmap holds every write)
 *     the beginning (P.bitmap == FROM_ZERO)
 *   P.bitmap == B.current                                  BITMAP from P: B missed what P's bitmap records
 *   B.bitmap == P.current                                  PRIMARY_BEHIND: the backup wrote after the primary
 *                                                          left; the operator decides (as split brain)
 *   P.bitmap == B.bitmap (both nonzero), currents differ   SPLIT_BRAIN: both wrote since they diverged
 *   B.current is in P.history                              FULL from P: B is behind more than the bitmap covers
 *   P.current is in B.history                              PRIMARY_BEHIND
 *   anything else                                          UNRELATED: refuse, never overwrite
 * </pre>
 *
 * Pure and thread-safe.
 */
public enum SyncDecision {
    /** Same generation: nothing to resync but blocks either side marked dirty (crash recovery). */
    IN_SYNC(0),
    /** The backup lacks exactly what the primary's bitmap (and any dirty bits of its own) records. */
    BITMAP(1),
    /** The backup is too far behind for the bitmap: every block is resent. */
    FULL(2),
    /** Both copies changed independently; replication stays off until the operator chooses. */
    SPLIT_BRAIN(3),
    /** The backup's copy is newer than the primary's; the operator chooses which to keep. */
    PRIMARY_BEHIND(4),
    /** The copies share no history: never overwrite either automatically. */
    UNRELATED(5);

    private final int code;

    SyncDecision(int code) {
        this.code = code;
    }

    /**
     * The decision's code on the wire (fixed; never the declaration order).
     *
     * @return the code
     */
    public int code() {
        return code;
    }

    /**
     * The decision with a wire code.
     *
     * @param code a code from the wire
     * @return the decision, or null if the code is unknown
     */
    public static SyncDecision fromCode(int code) {
        for (SyncDecision decision : values()) {
            if (decision.code == code) {
                return decision;
            }
        }
        return null;
    }

    /**
     * Compares the primary's generation with the backup's.
     *
     * @param primary the primary's copy
     * @param backup  the backup's copy
     * @return what to do
     */
    public static SyncDecision decide(Generation primary, Generation backup) {
        if (primary.current() == backup.current()) {
            return IN_SYNC;
        }
        if (backup.current() == Generation.ZERO && backup.bitmap() == 0 && primary.bitmap() == Generation.FROM_ZERO) {
            return BITMAP;
        }
        if (primary.bitmap() != 0 && primary.bitmap() == backup.current()) {
            return BITMAP;
        }
        if (backup.bitmap() != 0 && backup.bitmap() == primary.current()) {
            return PRIMARY_BEHIND;
        }
        if (primary.bitmap() != 0 && primary.bitmap() == backup.bitmap()) {
            return SPLIT_BRAIN;
        }
        if (backup.current() == Generation.ZERO || primary.history().contains(backup.current())) {
            return FULL;
        }
        if (primary.current() == Generation.ZERO || backup.history().contains(primary.current())) {
            return PRIMARY_BEHIND;
        }
        return UNRELATED;
    }
}
