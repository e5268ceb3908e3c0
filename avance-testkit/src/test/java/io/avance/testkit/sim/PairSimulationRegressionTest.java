package io.avance.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Seeds that once broke a property, kept after their fix so that the bug cannot come back
 * unnoticed. Each test names what went wrong; each seed replays with the command in its comment.
 */
class PairSimulationRegressionTest {

    /**
     * avance sim --property node-faults --seed 10641695. Alpha, primary of epoch 1, crashed; beta
     * took over. Alpha restarted and was frozen for 0.9 s before its first duty cycle: that cycle
     * counted the freeze as the peer's silence (the pause monitor measured gaps only from the first
     * cycle on) and made alpha primary of epoch 2 while beta served epoch 5.
     */
    @Test
    void aNodeFrozenBeforeItsFirstDutyCycleDoesNotCountTheFreezeAsThePeersSilence() {
        // The simulation checks after every event that two nodes never serve at once.
        SimulationResult result = SimulationProperty.NODE_FAULTS.check(10641695L);
        assertTrue(result.faults().stream().anyMatch(fault -> fault.kind() == SimFault.Kind.PAUSE && fault.node() == 0
                        && Math.abs(fault.startNanos() - 17_243_000_000L) < 1_000_000L),
                "the seed still draws alpha's freeze right after its restart: " + result.faults());
    }
}
