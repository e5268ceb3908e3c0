package io.avance.api.hypervisor;

/**
 * The state of a VM.
 *
 * <pre>
 *   DEFINED --start--&gt; STARTING --&gt; RUNNING &lt;--resume-- PAUSED
 *                                    |  |  '--pause--&gt;----^
 *                   shutdown/destroy |  '--guest fails--&gt; CRASHED --restart--&gt; STARTING
 *                                    v                        '--restart limit--&gt; FAILED
 *                                 STOPPING --&gt; STOPPED --start--&gt; STARTING
 *   RUNNING --migrate--&gt; MIGRATING --&gt; (RUNNING on the target; gone from the source)
 *                           '--cancelled or failed--&gt; RUNNING on the source
 * </pre>
 */
public enum VmState {
    /** Known to the hypervisor, never started. */
    DEFINED,
    /** Being created or booted. */
    STARTING,
    /** Running. */
    RUNNING,
    /** Paused: memory kept, no virtual CPU runs. */
    PAUSED,
    /** Being shut down or destroyed. */
    STOPPING,
    /** Stopped cleanly. */
    STOPPED,
    /** The guest or its emulation died. */
    CRASHED,
    /** Being moved to the other node. */
    MIGRATING,
    /** Crashed more often than the restart limit allows; left stopped for an operator. */
    FAILED;

    /**
     * Tells whether the VM holds resources (memory, cores) on its node.
     *
     * @return true while it starts, runs, is paused, stops or migrates
     */
    public boolean active() {
        return this == STARTING || this == RUNNING || this == PAUSED || this == STOPPING || this == MIGRATING;
    }
}
