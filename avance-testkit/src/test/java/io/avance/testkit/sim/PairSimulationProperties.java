package io.avance.testkit.sim;

import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;

/**
 * Whole-pair properties over seeded simulations ({@link SimulationProperty}), each over a fixed
 * set of seeds: jqwik draws them from the seed named here, so every run of a commit checks the
 * same simulations and a landing never depends on a draw. Fresh seeds are for campaigns
 * ({@code avance sim --seeds 100000}); a seed a campaign finds to fail is fixed and then kept in
 * {@link PairSimulationRegressionTest}. Shrinking a seed means nothing, so it is off, and a
 * failure is not tried first on the next run (the set of seeds stays the set named here); a
 * failure's message starts with the command that replays it.
 */
class PairSimulationProperties {

    @Property(tries = 500, seed = "20261207", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void safeAndLiveUnderNodeFaults(@ForAll long seed) {
        SimulationProperty.NODE_FAULTS.check(seed);
    }

    @Property(tries = 500, seed = "20261208", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void withAWitnessSafeEvenWhenEveryPathBetweenRunningNodesFails(@ForAll long seed) {
        SimulationProperty.WITNESS.check(seed);
    }

    @Property(tries = 60, seed = "20261209", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void aCrashedPrimaryIsReplacedWithinTheTakeoverBound(@ForAll long seed) {
        SimulationProperty.TAKEOVER_BOUND.check(seed);
    }

    @Property(tries = 60, seed = "20261210", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void anIsolatedPrimaryStopsServingPromptlyAndBeforeItsPeerServes(@ForAll long seed) {
        SimulationProperty.ISOLATED_PRIMARY_STOPS.check(seed);
    }

    @Property(tries = 60, seed = "20261211", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void noFalseTakeoverUnderLossDelayShortFreezesAndHealthNoise(@ForAll long seed) {
        SimulationProperty.NO_FALSE_TAKEOVER.check(seed);
    }

    @Property(tries = 40, seed = "20261212", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void noisyHealthCannotPingPongTheRoles(@ForAll long seed) {
        SimulationProperty.NO_PING_PONG.check(seed);
    }

    @Property(tries = 60, seed = "20261213", shrinking = ShrinkingMode.OFF,
            afterFailure = AfterFailureMode.PREVIOUS_SEED)
    void replayedAndDuplicatedDatagramsNeverMoveTheRoles(@ForAll long seed) {
        SimulationProperty.REPLAYED_DATAGRAMS.check(seed);
    }
}
