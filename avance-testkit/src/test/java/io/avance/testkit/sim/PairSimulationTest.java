package io.avance.testkit.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverPolicy;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class PairSimulationTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void aSeedReplaysExactly() {
        SimulationResult first = PairSimulation.run(42, SimulationConfig.nodeFaults());
        SimulationResult second = PairSimulation.run(42, SimulationConfig.nodeFaults());
        assertEquals(first.trace(), second.trace());
        assertEquals(first.serving(), second.serving());
        assertNotEquals(first.trace(), PairSimulation.run(43, SimulationConfig.nodeFaults()).trace());
    }

    @Test
    void aSplitPrivateLinkKeepsThePrimaryAndRebootsThenDeclaresTheBackupDown() {
        SimulationConfig config = SimulationConfig.nodeFaults().withFaults(EnumSet.noneOf(SimFault.Kind.class), 0)
                .withDurations(40 * SECOND, 10 * SECOND);
        List<SimFault> cut = List.of(new SimFault(SimFault.Kind.CUT_PRIVATE_LINK, 0, 0, 3 * SECOND, 30 * SECOND, 0));
        SimulationResult result = PairSimulation.run(7, config, cut);
        assertEquals(1, result.serving().size(), "alpha serves throughout: " + result.serving());
        assertEquals(0, result.serving().get(0).node());
        assertTrue(result.reboots() >= 3, "the backup was rebooted " + result.reboots() + " times");
        assertTrue(result.trace().stream().anyMatch(line -> line.contains("DECLARE_BACKUP_DOWN")),
                String.join("\n", result.trace()));
    }

    @Test
    void theEngineStaysSafeWhateverThePolicySays() {
        // A policy that always wants to take over: the engine's own guard refuses every takeover
        // whose safety conditions do not hold, so no seed may break a safety rule (the pair may
        // not recover, which is this policy's fault, not a safety failure).
        io.avance.core.failover.DefaultFailoverPolicy sane = io.avance.core.failover.DefaultFailoverPolicy.withDefaults();
        FailoverPolicy reckless = snapshot -> snapshot.self().role() != io.avance.api.PairRole.PRIMARY
                ? FailoverDecision.of(FailoverDecision.Action.TAKE_OVER, "impatient")
                : sane.decide(snapshot);
        SimulationConfig config = SimulationConfig.nodeFaults().withPolicy(settings -> reckless)
                .withDurations(30 * SECOND, 10 * SECOND);
        for (long seed = 1; seed <= 30; seed++) {
            try {
                PairSimulation.run(seed, config);
            } catch (SimulationFailure failure) {
                assertTrue(failure.liveness(), failure.getMessage());
            }
        }
    }

    @Test
    void aBrokenRuleNamesItsSeed() {
        // A policy that migrates to the peer whatever the health breaks rule 1, which the
        // simulation checks on every decision.
        io.avance.core.failover.DefaultFailoverPolicy sane = io.avance.core.failover.DefaultFailoverPolicy.withDefaults();
        FailoverPolicy perverse = snapshot -> snapshot.self().role() == io.avance.api.PairRole.PRIMARY
                && snapshot.privatePath().peerAlive()
                ? FailoverDecision.of(FailoverDecision.Action.MIGRATE_TO_PEER, "why not")
                : sane.decide(snapshot);
        SimulationConfig config = SimulationConfig.nodeFaults().withPolicy(settings -> perverse);
        try {
            PairSimulation.run(5, config);
            throw new AssertionError("the simulation did not notice");
        } catch (SimulationFailure expected) {
            assertEquals(5, expected.seed());
            assertTrue(!expected.liveness() && expected.getMessage().contains("simulation seed 5")
                    && expected.getMessage().contains("not healthier"), expected.getMessage());
        }
    }
}
