package io.avance.testkit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverDecision.Action;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.PairTimings;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import io.avance.core.failover.DefaultFailoverPolicy;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The default policy's choices in the situations the design names, with the reasons it gives.
 */
class DefaultFailoverPolicyTest {

    private static final long SECOND = 1_000_000_000L;
    private final DefaultFailoverPolicy policy = DefaultFailoverPolicy.withDefaults();

    private FailoverDecision decide(SnapshotBuilder builder) {
        return policy.decide(builder.build());
    }

    @Test
    void aHealthyPairStaysPut() {
        assertEquals(Action.STAY, decide(new SnapshotBuilder()).action());
        assertEquals(Action.STAY, decide(new SnapshotBuilder().asBackup()).action());
    }

    @Test
    void noGracefulFailoverSoonAfterTheLastRoleChange() {
        SnapshotBuilder sick = new SnapshotBuilder()
                .faults(Fault.of(Component.DISK, "sda", Severity.CRITICAL, "I/O errors"));
        assertEquals(Action.MIGRATE_TO_PEER, decide(sick).action());
        assertEquals(Action.STAY, decide(sick.sinceRoleChange(10 * SECOND)).action());
    }

    @Test
    void noGracefulFailoverToABackupThatIsBehindOrInMaintenance() {
        Fault disk = Fault.of(Component.DISK, "sda", Severity.CRITICAL, "I/O errors");
        assertEquals(Action.STAY, decide(new SnapshotBuilder().faults(disk)
                .data(DataState.UP_TO_DATE, DataState.INCONSISTENT)).action());
        assertEquals(Action.STAY, decide(new SnapshotBuilder().faults(disk).maintenance(false, true)).action());
        assertEquals(Action.STAY, decide(new SnapshotBuilder().faults(disk).peerDeclaredDown(true)).action());
    }

    @Test
    void aPredictedFaultOnThePrimaryMovesTheVmsBeforeTheComponentDies() {
        FailoverDecision decision = decide(new SnapshotBuilder()
                .faults(Fault.predicted(Component.DISK, "sda", Severity.CRITICAL, "reallocated sectors rising")));
        assertEquals(Action.MIGRATE_TO_PEER, decision.action());
    }

    @Test
    void aCrashedBackupIsRebootedOnceAPeriodThenDeclaredDown() {
        SnapshotBuilder silent = new SnapshotBuilder().peerSilentOnEveryPath(5 * SECOND);
        assertEquals(Action.REBOOT_BACKUP, decide(silent).action());
        assertEquals(Action.STAY, decide(silent.sinceRebootRequest(5 * SECOND)).action());
        FailoverDecision down = decide(silent.sinceRebootRequest(60 * SECOND)
                .incidents(60 * SECOND, 180 * SECOND, 300 * SECOND));
        assertEquals(Action.DECLARE_BACKUP_DOWN, down.action());
        assertTrue(down.reason().contains("3 reboots"), down.reason());
        assertEquals(Action.STAY, decide(silent.peerDeclaredDown(true)).action());
    }

    /** Rule 6 waits, as a takeover does, until the private link has been silent for the detection minimum. */
    @Test
    void aSuspectedPrivateLinkRebootsTheBackupOnlyAfterTheDetectionMinimum() {
        long minimum = PairTimings.defaults().detectionMinimumNanos();
        FailoverDecision early = decide(new SnapshotBuilder().privateLinkSilent(minimum - 100_000_000L));
        assertEquals(Action.STAY, early.action(), early.reason());
        assertTrue(early.reason().contains("not yet silent"), early.reason());
        assertEquals(Action.REBOOT_BACKUP, decide(new SnapshotBuilder().privateLinkSilent(minimum)).action());
    }

    @Test
    void incidentsSpreadOverDaysDoNotDeclareTheBackupDown() {
        long hour = 3600 * SECOND;
        FailoverDecision decision = decide(new SnapshotBuilder().privateLinkDown()
                .incidents(10 * SECOND, 20 * hour, 40 * hour));
        assertEquals(Action.REBOOT_BACKUP, decision.action());
    }

    @Test
    void aBackupWithStaleDataOrALostNetworkDoesNotTakeOver() {
        SnapshotBuilder silentPrimary = new SnapshotBuilder().asBackup().peerSilentOnEveryPath(2 * SECOND);
        assertEquals(Action.TAKE_OVER, decide(silentPrimary).action());
        FailoverDecision stale = decide(new SnapshotBuilder().asBackup().peerSilentOnEveryPath(2 * SECOND)
                .data(DataState.OUTDATED, DataState.UP_TO_DATE));
        assertEquals(Action.STAY, stale.action());
        assertTrue(stale.reason().contains("OUTDATED"), stale.reason());
        FailoverDecision lostNetwork = decide(new SnapshotBuilder().asBackup().publicNetwork("wan")
                .peerSilentOnEveryPath(2 * SECOND).localNetworkDown("wan"));
        assertEquals(Action.STAY, lostNetwork.action());
        assertTrue(lostNetwork.reason().contains("witness"), lostNetwork.reason());
        FailoverDecision withWitness = decide(new SnapshotBuilder().asBackup().publicNetwork("wan")
                .peerSilentOnEveryPath(2 * SECOND).localNetworkDown("wan").witness(WitnessStatus.NOT_ASKED));
        assertEquals(Action.TAKE_OVER, withWitness.action(), "a witness decides instead");
    }

    @Test
    void aNodeWithoutARoleWaitsForItsPeerUnlessItWasTheLastPrimary() {
        SnapshotBuilder fresh = new SnapshotBuilder().self(PairRole.UNDECIDED, 0, Optional.empty()).peerNeverHeard();
        FailoverDecision waiting = decide(fresh);
        assertEquals(Action.STAY, waiting.action());
        assertTrue(waiting.reason().contains("first time"), waiting.reason());

        SnapshotBuilder formerBackup = new SnapshotBuilder()
                .self(PairRole.UNDECIDED, 4, Optional.of(io.avance.api.NodeId.of("beta"))).peerNeverHeard()
                .data(DataState.CONSISTENT, DataState.CONSISTENT);
        assertEquals(Action.STAY, decide(formerBackup).action());

        SnapshotBuilder formerPrimary = new SnapshotBuilder()
                .self(PairRole.UNDECIDED, 4, Optional.of(io.avance.api.NodeId.of("alpha"))).peerNeverHeard()
                .data(DataState.CONSISTENT, DataState.CONSISTENT);
        assertEquals(Action.TAKE_OVER, decide(formerPrimary).action());
    }

    @Test
    void theElectionPrefersBetterDataThenHealthThenTheLastPrimaryThenTheSmallerId() {
        SnapshotBuilder both = new SnapshotBuilder().self(PairRole.UNDECIDED, 2, Optional.of(io.avance.api.NodeId.of("beta")))
                .peer(PairRole.UNDECIDED, 2, Optional.of(io.avance.api.NodeId.of("beta")));
        assertEquals(Action.STAY, decide(both).action(), "beta was the last primary");
        assertEquals(Action.TAKE_OVER, decide(both.data(DataState.UP_TO_DATE, DataState.CONSISTENT)).action(),
                "better data wins");
        SnapshotBuilder sickPeer = new SnapshotBuilder().self(PairRole.UNDECIDED, 2, Optional.of(io.avance.api.NodeId.of("beta")))
                .peer(PairRole.UNDECIDED, 2, Optional.of(io.avance.api.NodeId.of("beta")))
                .peerFaults(Fault.of(Component.PUBLIC_NETWORK, "lan", Severity.CRITICAL, "down"));
        assertEquals(Action.TAKE_OVER, decide(sickPeer).action(), "health before history");
        PairSnapshot fresh = new SnapshotBuilder().self(PairRole.UNDECIDED, 0, Optional.empty())
                .peer(PairRole.UNDECIDED, 0, Optional.empty()).build();
        assertEquals(Action.TAKE_OVER, policy.decide(fresh).action(), "alpha is the smaller id");
    }

    @Test
    void vmRestartsBackOffAndStopAtTheLimit() {
        assertEquals(Action.RESTART_VM, decide(new SnapshotBuilder().vm("db", VmState.CRASHED, 0, 2 * SECOND)).action());
        assertEquals(Action.STAY, decide(new SnapshotBuilder().vm("db", VmState.CRASHED, 3, 2 * SECOND)).action(),
                "the fourth restart waits 8 s");
        assertEquals(Action.RESTART_VM, decide(new SnapshotBuilder().vm("db", VmState.CRASHED, 3, 9 * SECOND)).action());
        assertEquals(Action.STAY, decide(new SnapshotBuilder().vm("db", VmState.CRASHED, 5, SnapshotBuilder.HOUR))
                .action(), "the limit is reached");
    }
}
