package io.avance.testkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Draws the faults of a simulation from its seed.
 *
 * <p>Faults start as a Poisson process over the fault phase (after two quiet seconds in which the
 * pair forms) and end by the end of that phase. Durations are drawn per kind, short ones more
 * often: most freezes are GC-sized, a few are long enough to cost the primary its role.
 */
public final class Scenario {

    private static final long MS = 1_000_000L;
    private static final long SECOND = 1_000_000_000L;

    private Scenario() {
    }

    /**
     * Draws the faults for a seed.
     *
     * @param seed   the seed
     * @param config which kinds, how often, how long the phase is
     * @return the faults, by start time
     */
    public static List<SimFault> draw(long seed, SimulationConfig config) {
        SplittableRandom random = new SplittableRandom(seed);
        List<SimFault> faults = new ArrayList<>();
        List<SimFault.Kind> kinds = new ArrayList<>(config.faults());
        if (kinds.isEmpty() || config.faultsPerSecond() <= 0) {
            return faults;
        }
        long end = config.faultPhaseNanos();
        long time = 2 * SECOND;
        while (true) {
            time += (long) (-Math.log(1 - random.nextDouble()) / config.faultsPerSecond() * SECOND);
            if (time >= end) {
                return faults;
            }
            SimFault.Kind kind = kinds.get(random.nextInt(kinds.size()));
            int node = random.nextInt(2);
            int network = random.nextInt(config.publicNetworks());
            long duration;
            double magnitude = 0;
            switch (kind) {
                case CRASH -> duration = skewed(random, 100 * MS, 10 * SECOND);
                case PAUSE -> duration = skewed(random, 5 * MS, 2 * SECOND);
                case CUT_PRIVATE_LINK -> duration = skewed(random, 100 * MS, 20 * SECOND);
                case NIC_DOWN, ISOLATE, PARTITION -> duration = skewed(random, 100 * MS, 10 * SECOND);
                case LOSS -> {
                    duration = skewed(random, SECOND, 10 * SECOND);
                    magnitude = random.nextDouble() * config.maxLoss();
                }
                case DELAY -> {
                    duration = skewed(random, SECOND, 10 * SECOND);
                    // The safety rule assumes a working network's delay varies by at most half
                    // the safety margin (docs/architecture.md); the base latency takes up to 2 ms.
                    long ceiling = Math.max(MS, config.timings().safetyMarginNanos() / 2 - 2 * MS);
                    magnitude = random.nextLong(ceiling);
                }
                case HEALTH -> {
                    duration = skewed(random, SECOND, 30 * SECOND);
                    magnitude = random.nextInt(3);
                }
                case WITNESS_DOWN, REPLAY -> duration = skewed(random, SECOND, 20 * SECOND);
                default -> throw new AssertionError(kind);
            }
            duration = Math.min(duration, end - time);
            faults.add(new SimFault(kind, node, network, time, duration, magnitude));
        }
    }

    /** A duration between the bounds, log-uniform: as many short ones as long ones per decade. */
    private static long skewed(SplittableRandom random, long low, long high) {
        double logLow = Math.log(low);
        double logHigh = Math.log(high);
        return (long) Math.exp(logLow + random.nextDouble() * (logHigh - logLow));
    }
}
