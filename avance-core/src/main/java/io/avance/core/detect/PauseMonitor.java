package io.avance.core.detect;

/**
 * Notices that this node was frozen: a gap between two consecutive duty cycles far longer than
 * the cycle's period.
 *
 * <p>A frozen primary sends no heartbeats, so its peer may have taken over while it was frozen.
 * When it runs again it must find that out before it serves anything: the engine asks
 * {@link #frozenNanos} on every cycle, and a primary frozen for longer than its isolation
 * deadline steps down. Pure and not thread-safe; the duty cycle owns it.
 */
public final class PauseMonitor {

    private long lastCycleNanos;
    private long lastGapNanos;
    private long longestGapNanos;
    private boolean started;

    /**
     * Records the start of a duty cycle.
     *
     * @param nowNanos the current reading
     * @return the gap since the previous cycle, or 0 for the first
     */
    public long onCycle(long nowNanos) {
        long gap = started ? Math.max(0, nowNanos - lastCycleNanos) : 0;
        started = true;
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
        return started ? Math.max(lastGapNanos, nowNanos - lastCycleNanos) : 0;
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
