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

    /**
     * avance sim --property no-false-takeover --seed 1003409. The property's own schedule chained
     * three freezes of the primary (8.461 s for 191 ms, 8.636 s for 148 ms, 8.765 s for 184 ms) into
     * one of 488 ms: with the heartbeat interval before it, long enough for a takeover, which the
     * backup rightly made. The property promises no takeover under GC-sized freezes, so a node's
     * freezes must not chain.
     */
    @Test
    void theNoiseOfNoFalseTakeoverNeverFreezesANodeLongerThanAGarbageCollection() {
        for (long seed : new long[] {1003409L, 1L, 42L, 20261211L}) {
            long[] frozenUntil = {Long.MIN_VALUE, Long.MIN_VALUE};
            for (SimFault freeze : SimulationProperty.shortFreezes(seed)) {
                assertTrue(freeze.durationNanos() <= SimulationProperty.SHORT_FREEZE_NANOS, freeze.toString());
                assertTrue(freeze.startNanos() >= frozenUntil[freeze.node()] + SimulationProperty.BETWEEN_FREEZES_NANOS,
                        "seed " + seed + ": " + freeze + " chains with the one before");
                frozenUntil[freeze.node()] = freeze.startNanos() + freeze.durationNanos();
            }
        }
        SimulationProperty.NO_FALSE_TAKEOVER.check(1003409L);
    }

    /**
     * avance sim --property witness --seed 1013417. Alpha claimed epoch 4 at the witness for a
     * takeover it then did not make (beta was heard again); beta, primary of epoch 3, had its
     * renewal refused and stepped down, then took epoch 3 back at alpha's next heartbeat, which
     * still named it primary of epoch 3 (the lost-handover rule), and so on for ever: no node
     * served once the faults healed. A node whose epoch the witness has passed now waits for an
     * election above the witness's epoch.
     */
    @Test
    void aPrimaryTheWitnessRefusedDoesNotTakeItsEpochBackFromThePeersHeartbeat() {
        // The simulation checks at the end that exactly one node serves and the other backs it up.
        SimulationProperty.WITNESS.check(1013417L);
    }

    /**
     * avance sim --property node-faults --seed 1022175. Alpha, primary, was cut off from every
     * network for 270 ms; its heartbeats in the first moments went into NICs that had failed
     * without its knowing yet, and looked sent. Its NICs came back, it froze for 418 ms, and its
     * serving lease still counted those phantom heartbeats as received: it served on while beta,
     * which had heard nothing since before the cut, took over. A heartbeat now counts only once
     * the failure of its NIC would have been reported, and never if it was.
     */
    @Test
    void heartbeatsSentIntoANicThatHadFailedUnnoticedDoNotExtendTheServingLease() {
        // The simulation checks after every event that two nodes never serve at once.
        SimulationProperty.NODE_FAULTS.check(1022175L);
    }

    /**
     * avance sim --property replayed-datagrams --seed 7 (failed, as all 200 seeds from 1 did,
     * before incarnations were ordered). Both nodes had crashed and restarted; at 25.9 s, under
     * replays alone, beta, backup of epoch 4, took over from a live alpha in epoch 5. A replayed
     * heartbeat of an alpha run that beta had never seen (beta had restarted since) was taken as
     * alpha's restart and retired alpha's live run, whose genuine heartbeats beta then dropped as
     * a retired run's: alpha fell silent to it. An earlier run's datagram is now dropped, and a
     * later run retires the current one only after the current one's silence.
     */
    @Test
    void aReplayedHeartbeatOfAnEarlierRunDoesNotRetireTheLivePeer() {
        SimulationProperty.REPLAYED_DATAGRAMS.check(7L);
    }
}
