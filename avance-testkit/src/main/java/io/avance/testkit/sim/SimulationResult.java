package io.avance.testkit.sim;

import java.util.List;

/**
 * What a simulation saw.
 *
 * @param seed             the seed
 * @param faults           the faults injected
 * @param roleChanges      role changes of both nodes
 * @param takeovers        times a node became primary in a new epoch (elections included)
 * @param handovers        graceful handovers
 * @param reboots          reboots a primary asked for
 * @param firstPrimaryAfterCrashNanos for each crash of a serving primary, how long until the
 *                         other node served (-1 if it never did before the primary came back)
 * @param trace            the last lines of the event trace
 */
public record SimulationResult(long seed, List<SimFault> faults, int roleChanges, int takeovers, int handovers,
                               int reboots, List<Long> firstPrimaryAfterCrashNanos, List<String> trace) {
}
