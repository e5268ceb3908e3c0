package io.avance.api.migration;

/**
 * The phases of one live migration.
 *
 * <pre>
 *   PREPARING --&gt; PRE_COPY (round 1: all pages; rounds 2..n: dirty pages)
 *                    |
 *                    | remaining pages fit the pause target, or the round limit is hit
 *                    v
 *               STOP_AND_COPY (VM paused; last pages and device state sent)
 *                    |
 *                    v
 *               ACTIVATING (target resumes) --&gt; COMPLETED
 *
 *   PREPARING, PRE_COPY, STOP_AND_COPY --cancel or failure--&gt; CANCELLED / FAILED
 *                                      (the VM resumes on the source)
 * </pre>
 */
public enum MigrationPhase {
    /** Connecting to the target and creating the paused VM there. */
    PREPARING,
    /** Copying pages while the VM runs. */
    PRE_COPY,
    /** VM paused on the source; sending the last dirty pages and the device state. */
    STOP_AND_COPY,
    /** Resuming the VM on the target. */
    ACTIVATING,
    /** The VM runs on the target and is gone from the source. */
    COMPLETED,
    /** Cancelled before the switch; the VM runs on the source. */
    CANCELLED,
    /** Failed before the switch; the VM runs on the source. */
    FAILED;

    /**
     * Tells whether the migration has ended.
     *
     * @return true for completed, cancelled and failed
     */
    public boolean terminal() {
        return this == COMPLETED || this == CANCELLED || this == FAILED;
    }
}
