package io.avance.testkit.sim;

import java.util.List;

/**
 * What a simulation saw.
 *
 * @param seed             the seed
 * @param faults           the faults injected
 * @param roleChanges      role changes of both nodes
 * @param takeovers        times a node became primary in a new epoch (elections included)
 * @param unilateralTakeovers takeovers without the peer's consent: after the peer was silent on
 *                         every path
 * @param handovers        graceful handovers
 * @param reboots          reboots a primary asked for
 * @param firstPrimaryAfterCrashNanos for each crash of a serving primary, how long until the
 *                         other node served (-1 if it never did before the primary came back)
 * @param serving          every interval in which a node served, in order of start
 * @param trace            the last lines of the event trace
 * @param simulatedNanos   how much simulated time the run covered
 * @param replayedDatagrams datagrams the REPLAY fault delivered again (duplicates and replays)
 */
public record SimulationResult(long seed, List<SimFault> faults, int roleChanges, int takeovers,
                               int unilateralTakeovers, int handovers,
                               int reboots, List<Long> firstPrimaryAfterCrashNanos, List<Serving> serving,
                               List<String> trace, long simulatedNanos, int replayedDatagrams) {

    /**
     * One interval in which a node served.
     *
     * @param node      0 or 1
     * @param fromNanos when it started serving
     * @param toNanos   when it stopped (the end of the run if it never did)
     */
    public record Serving(int node, long fromNanos, long toNanos) {
    }
}
