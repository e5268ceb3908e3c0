package io.avance.testkit.sim;

/**
 * A simulation broke a rule. The message names the seed; rerunning the simulation with the same
 * seed and configuration replays the failure event for event.
 */
public final class SimulationFailure extends AssertionError {

    private static final long serialVersionUID = 1L;

    private final long seed;

    SimulationFailure(long seed, String message) {
        super(message);
        this.seed = seed;
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
