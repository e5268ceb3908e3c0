package io.avance.testkit.sim;

/** Runs many seeds and prints failures; a development aid, not a test. */
public final class SimulationExplorer {
    public static void main(String[] args) {
        int count = Integer.parseInt(args.length > 0 ? args[0] : "50");
        boolean witness = args.length > 1 && args[1].equals("witness");
        long start = System.nanoTime();
        int failures = 0;
        for (long seed = 1; seed <= count; seed++) {
            try {
                SimulationResult result = PairSimulation.run(seed,
                        witness ? SimulationConfig.withWitness() : SimulationConfig.nodeFaults());
                if (seed <= 3) {
                    System.out.println("seed " + seed + ": " + result.faults().size() + " faults, " + result.takeovers()
                            + " takeovers, " + result.handovers() + " handovers, " + result.reboots() + " reboots, delays "
                            + result.firstPrimaryAfterCrashNanos());
                }
            } catch (SimulationFailure e) {
                failures++;
                if (failures <= 2) {
                    System.out.println(e.getMessage());
                } else {
                    System.out.println(e.getMessage().lines().limit(2).reduce("", (a, b) -> a + "\n" + b));
                }
            }
        }
        System.out.printf("%d/%d failed in %.1f s%n", failures, count, (System.nanoTime() - start) / 1e9);
    }
}
