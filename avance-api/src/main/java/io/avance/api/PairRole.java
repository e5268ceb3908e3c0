package io.avance.api;

/**
 * The role a node plays in its pair.
 *
 * <pre>
 *                 elected / takeover / handed over
 *   UNDECIDED ------------------------------------&gt; PRIMARY
 *       |                                            |   ^
 *       | peer is primary                 handover   |   | takeover (peer silent)
 *       v                                            v   |
 *     BACKUP &lt;--------------------------------------- (BACKUP)
 *       ^                                            |
 *       |  rejoins after resync         lease lost,  |
 *       +----------------- ISOLATED &lt;---------------+  frozen, or a later epoch seen
 *
 *   any state --stop()--&gt; STOPPED
 * </pre>
 *
 * <p>Only {@link #PRIMARY} serves: it runs the VMs and exports the volumes. A node is primary
 * only within an <em>epoch</em> that its peer can no longer serve in (see the failover package).
 */
public enum PairRole {
    /** Started, no role yet: waiting to hear the peer, or for the election to finish. */
    UNDECIDED,
    /** Serves the VMs and the volumes in the current epoch. */
    PRIMARY,
    /** Receives every write synchronously and stands ready to take over. */
    BACKUP,
    /**
     * Stopped serving because it could not prove that it still may: cut off from every path,
     * frozen for longer than the takeover timeout, or it learned of a later epoch. It rejoins as
     * backup once it hears its peer again.
     */
    ISOLATED,
    /** The node has been stopped by its embedding program. */
    STOPPED;

    /**
     * Tells whether a node in this role may serve VMs and volumes.
     *
     * @return true only for {@link #PRIMARY}
     */
    public boolean serves() {
        return this == PRIMARY;
    }
}
