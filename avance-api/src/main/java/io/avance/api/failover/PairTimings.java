package io.avance.api.failover;

/**
 * The timing rules both nodes of a pair agree on. The isolation rule depends on them: an
 * isolated or frozen primary stops serving before its peer may take over.
 *
 * <pre>
 *   peer last heard                       backup may take over (detector agrees)   must take over
 *        |-------------------------------------|-------------------------------------|
 *        0              isolationDeadline    detectionMinimum                 detectionMaximum
 *                              |
 *        an isolated primary has stopped serving here (detectionMinimum - safetyMargin)
 * </pre>
 *
 * @param heartbeatIntervalNanos  how often each node sends a heartbeat on every path
 * @param detectionMinimumNanos   the least silence (on every path) before a backup may take over,
 *                                whatever the adaptive detector says
 * @param detectionMaximumNanos   the silence after which the peer counts as dead even if the
 *                                adaptive detector, used to a jittery peer, is not yet sure; this
 *                                bounds the takeover time
 * @param safetyMarginNanos       how much earlier than {@code detectionMinimum} an isolated or
 *                                frozen primary stops; covers scheduling delay and clock-rate
 *                                differences between the nodes
 */
public record PairTimings(long heartbeatIntervalNanos, long detectionMinimumNanos, long detectionMaximumNanos,
                          long safetyMarginNanos) {

    /**
     * Checks that the rules are consistent.
     *
     * @throws IllegalArgumentException naming the value that breaks them
     */
    public PairTimings {
        if (heartbeatIntervalNanos <= 0) {
            throw new IllegalArgumentException("heartbeat interval must be positive, was " + heartbeatIntervalNanos + " ns");
        }
        if (detectionMinimumNanos < 3 * heartbeatIntervalNanos) {
            throw new IllegalArgumentException("detection minimum (" + detectionMinimumNanos
                    + " ns) must be at least 3 heartbeat intervals (" + 3 * heartbeatIntervalNanos
                    + " ns): one late heartbeat must not look like a dead peer");
        }
        if (detectionMaximumNanos < detectionMinimumNanos) {
            throw new IllegalArgumentException("detection maximum (" + detectionMaximumNanos
                    + " ns) must not be less than the detection minimum (" + detectionMinimumNanos + " ns)");
        }
        if (safetyMarginNanos <= 0 || safetyMarginNanos > detectionMinimumNanos - 2 * heartbeatIntervalNanos) {
            throw new IllegalArgumentException("safety margin (" + safetyMarginNanos
                    + " ns) must be positive and leave an isolated primary at least 2 heartbeat intervals"
                    + " before it stops (detection minimum " + detectionMinimumNanos + " ns)");
        }
    }

    /**
     * The defaults: heartbeats every 100 ms, takeover after 500 ms to 1 s of silence, an
     * isolated primary stopping 100 ms before the earliest takeover.
     *
     * @return the default timings
     */
    public static PairTimings defaults() {
        return new PairTimings(100_000_000L, 500_000_000L, 1_000_000_000L, 100_000_000L);
    }

    /**
     * When an isolated or frozen primary must have stopped serving, counted from the moment its
     * peer last heard it.
     *
     * @return {@code detectionMinimum - safetyMargin}
     */
    public long isolationDeadlineNanos() {
        return detectionMinimumNanos - safetyMarginNanos;
    }
}
