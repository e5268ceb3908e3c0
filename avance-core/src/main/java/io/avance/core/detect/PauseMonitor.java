package io.avance.core.detect;

/**
 * Notices that this node was frozen: a gap between two consecutive duty cycles far longer than
 * the cycle's period.
 *
 * <p>A frozen primary sends no heartbeats, so its peer may have taken over while it was frozen.
 * When it runs again it must find that out before it serves anything: the engine asks
 * {@link #frozenNanos} on every cycle, and a primary frozen for longer than its isolation
 * deadline steps down. Pure and not thread-safe; the duty cycle owns it.
 *
 * <p>The first gap counts from the monitor's creation, not from the first cycle: a process that
 * is frozen between starting and its first duty cycle has not been watching either, and must not
 * count that time as anything it observed.
 */
public final class PauseMonitor {

    private long lastCycleNanos;
    private long lastGapNanos;
    private long longestGapNanos;

    /**
     * Creates a monitor whose first gap counts from the given moment.
     *
     * @param createdAtNanos the owner's clock reading when its process started watching
     */
    public PauseMonitor(long createdAtNanos) {
        this.lastCycleNanos = createdAtNanos;
    }

    /**
     * Records the start of a duty cycle.
     *
     * @param nowNanos the current reading
     * @return the gap since the previous cycle (the first: since the monitor was created)
     */
    public long onCycle(long nowNanos) {
        long gap = Math.max(0, nowNanos - lastCycleNanos);
        lastCycleNanos = nowNanos;
        lastGapNanos = gap;
        longestGapNanos = Math.max(longestGapNanos, gap);
        return gap;
    }

    /**
     * How long the node has gone without a cycle, as of now: the larger of the last completed gap
     * and the time since the last cycle started.
     *
     * @param nowNanos the current reading
     * @return the current freeze, in nanoseconds
     */
    public long frozenNanos(long nowNanos) {
        return Math.max(lastGapNanos, nowNanos - lastCycleNanos);
    }

    /**
     * The gap before the last cycle.
     *
     * @return nanoseconds
     */
    public long lastGapNanos() {
        return lastGapNanos;
    }

    /**
     * The longest gap seen.
     *
     * @return nanoseconds
     */
    public long longestGapNanos() {
        return longestGapNanos;
    }
}
