package io.avance.testkit.sim;

/**
 * A simulation broke a rule. The message names the seed; rerunning the simulation with the same
 * seed and configuration replays the failure event for event.
 */
public final class SimulationFailure extends AssertionError {

    private static final long serialVersionUID = 1L;

    private final long seed;
    private final boolean liveness;

    SimulationFailure(long seed, boolean liveness, String message) {
        super(message);
        this.seed = seed;
        this.liveness = liveness;
    }

    /**
     * Tells whether the broken rule is a liveness rule (the pair did not recover) rather than a
     * safety rule.
     *
     * @return true for a liveness failure
     */
    public boolean liveness() {
        return liveness;
    }

    /**
     * The seed that reproduces the failure.
     *
     * @return the seed
     */
    public long seed() {
        return seed;
    }
}
