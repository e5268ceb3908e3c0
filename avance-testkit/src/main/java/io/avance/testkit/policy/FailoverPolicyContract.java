package io.avance.testkit.policy;

import io.avance.api.PairRole;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverDecision.Action;
import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The rules of the design, as properties any {@link FailoverPolicy} must satisfy.
 *
 * <p>To check your own policy, subclass this in your tests:
 * <pre>{@code
 * class MyPolicyContractTest extends FailoverPolicyContract {
 *     protected FailoverPolicy policy() { return new MyPolicy(); }
 * }
 * }</pre>
 * Override {@link #healthMargin()} and {@link #failoverHoldOffNanos()} if your policy uses other
 * values. Each property names its rule; the generated snapshots span every role, silence, freeze,
 * witness answer and data state (see {@link PairArbitraries}).
 */
public abstract class FailoverPolicyContract {

    private static final long SECOND = 1_000_000_000L;

    /**
     * The policy under test.
     *
     * @return a policy; it is asked many times and must be pure
     */
    protected abstract FailoverPolicy policy();

    /**
     * The margin by which the backup must be healthier before a graceful failover.
     *
     * @return the policy's margin
     */
    protected int healthMargin() {
        return HealthScore.DEFAULT_MARGIN;
    }

    /**
     * The least time between a role change and a graceful failover.
     *
     * @return the policy's hold-off
     */
    protected long failoverHoldOffNanos() {
        return 60 * SECOND;
    }

    private FailoverDecision decide(PairSnapshot snapshot) {
        FailoverDecision decision = policy().decide(snapshot);
        if (decision == null) {
            throw new AssertionError("the policy returned null for " + snapshot);
        }
        return decision;
    }

    private static AssertionError broken(String rule, FailoverDecision decision, PairSnapshot snapshot) {
        return new AssertionError(rule + "\n  decision: " + decision + "\n  snapshot: " + snapshot);
    }

    /** @return generated snapshots */
    @Provide
    Arbitrary<PairSnapshot> snapshots() {
        return PairArbitraries.snapshots();
    }

    /**
     * Purity: the same snapshot always gives the same decision.
     *
     * @param snapshot any snapshot
     */
    @Property(tries = 300)
    void decisionsArePure(@ForAll("snapshots") PairSnapshot snapshot) {
        FailoverDecision first = decide(snapshot);
        FailoverDecision second = decide(snapshot);
        if (!first.equals(second)) {
            throw broken("the same snapshot gave two decisions: " + second, first, snapshot);
        }
    }

    /**
     * Rule 1: a graceful failover goes only to a backup that is healthier by the margin, in sync,
     * reachable over the private link, in this epoch, not in maintenance, and not too soon after
     * the last role change (no ping-pong).
     *
     * @param snapshot any snapshot
     */
    @Property(tries = 2000)
    void failoverOnlyToAHealthierUpToDateBackup(@ForAll("snapshots") PairSnapshot snapshot) {
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.MIGRATE_TO_PEER) {
            return;
        }
        NodeView self = snapshot.self();
        Optional<NodeView> peer = snapshot.peer();
        boolean allowed = self.role() == PairRole.PRIMARY && peer.isPresent()
                && peer.get().role() == PairRole.BACKUP && peer.get().epoch() == self.epoch()
                && peer.get().data() == DataState.UP_TO_DATE && !peer.get().maintenance()
                && snapshot.privatePath().peerAlive() && !snapshot.peerDeclaredDown()
                && peer.get().health().isHealthierThan(self.health(), healthMargin())
                && snapshot.sinceRoleChangeNanos() >= failoverHoldOffNanos();
        if (!allowed) {
            throw broken("rule 1: failover to a backup that is not a healthier, in-sync backup", decision, snapshot);
        }
    }

    /**
     * Rule 1, noise: health differences inside the margin never move the VMs.
     *
     * @param lost  points the primary has lost
     * @param noise how many points the backup has lost more or less, less than the margin
     */
    @Property(tries = 300)
    void healthNoiseInsideTheMarginNeverMovesTheVms(@ForAll @IntRange(min = 0, max = 400) int lost,
                                                      @ForAll @IntRange(min = -49, max = 49) int noise) {
        SnapshotBuilder builder = new SnapshotBuilder()
                .faults(minorFaults(lost / 10))
                .peerFaults(minorFaults(Math.max(0, lost / 10 + noise / 10)));
        PairSnapshot snapshot = builder.build();
        if (snapshot.peer().get().health().isHealthierThan(snapshot.self().health(), healthMargin())) {
            return;
        }
        FailoverDecision decision = decide(snapshot);
        if (decision.action() == Action.MIGRATE_TO_PEER) {
            throw broken("rule 1: noise inside the margin moved the VMs", decision, snapshot);
        }
    }

    private static Fault[] minorFaults(int count) {
        Fault[] faults = new Fault[count];
        for (int i = 0; i < count; i++) {
            faults[i] = Fault.of(Component.FAN, "fan" + i, Severity.MINOR, "noise");
        }
        return faults;
    }

    /**
     * Rule 2: a fault on the backup that leaves it running is only reported.
     *
     * @param severity a fault that is not critical
     */
    @Property(tries = 50)
    void aRunningBackupsLesserFaultIsOnlyReported(@ForAll("lesserSeverities") Severity severity) {
        PairSnapshot snapshot = new SnapshotBuilder()
                .peerFaults(Fault.of(Component.POWER_SUPPLY, "psu2", severity, "failed")).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.STAY) {
            throw broken("rule 2: a lesser backup fault must only be reported", decision, snapshot);
        }
    }

    /** @return minor and major */
    @Provide
    Arbitrary<Severity> lesserSeverities() {
        return Arbitraries.of(Severity.MINOR, Severity.MAJOR);
    }

    /**
     * Rule 2: a serious backup fault (a lost public network) reboots the backup; when its
     * incidents come too often, it is declared down instead.
     */
    @Example
    void aSeriousBackupFaultRebootsItThenDeclaresItDown() {
        Fault lostNetwork = Fault.of(Component.PUBLIC_NETWORK, "lan", Severity.CRITICAL, "no carrier");
        PairSnapshot first = new SnapshotBuilder().peerFaults(lostNetwork).build();
        FailoverDecision reboot = decide(first);
        if (reboot.action() != Action.REBOOT_BACKUP) {
            throw broken("rule 2: a backup that lost a public network is rebooted", reboot, first);
        }
        PairSnapshot often = new SnapshotBuilder().peerFaults(lostNetwork)
                .incidents(SECOND, 60 * SECOND, 120 * SECOND).sinceRebootRequest(SECOND * 300).build();
        FailoverDecision down = decide(often);
        if (down.action() != Action.DECLARE_BACKUP_DOWN) {
            throw broken("rule 2: a backup failing every minute is declared down", down, often);
        }
    }

    /**
     * Rule 3: a failed VM is restarted where it runs, within the restart limit.
     *
     * @param asPrimary where the VM runs
     */
    @Property(tries = 10)
    void aCrashedVmIsRestartedWhereItRuns(@ForAll boolean asPrimary) {
        SnapshotBuilder builder = new SnapshotBuilder().vm("db", VmState.CRASHED, 0, SnapshotBuilder.HOUR);
        if (!asPrimary) {
            builder.asBackup();
        }
        PairSnapshot snapshot = builder.build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.RESTART_VM || !decision.vm().equals(Optional.of("db"))) {
            throw broken("rule 3: the crashed VM is restarted where it runs", decision, snapshot);
        }
    }

    /**
     * Rules 4 and 5: a primary that loses a public network or a disk fails over gracefully to a
     * healthy backup.
     *
     * @param component the failed component
     */
    @Property(tries = 10)
    void aPrimaryThatLosesANetworkOrADiskFailsOverGracefully(@ForAll("networkOrDisk") Component component) {
        PairSnapshot snapshot = new SnapshotBuilder()
                .faults(Fault.of(component, component == Component.DISK ? "sda" : "lan", Severity.CRITICAL, "failed"))
                .build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.MIGRATE_TO_PEER) {
            throw broken("rules 4 and 5: the primary moves its VMs to the healthy backup", decision, snapshot);
        }
    }

    /** @return the components of rules 4 and 5 */
    @Provide
    Arbitrary<Component> networkOrDisk() {
        return Arbitraries.of(Component.PUBLIC_NETWORK, Component.DISK);
    }

    /**
     * Rule 6: when the private link fails while both nodes run, the primary keeps serving and the
     * backup does not take over.
     *
     * @param sinceReboot time since the primary last asked for a reboot
     */
    @Property(tries = 100)
    void aSplitPrivateLinkKeepsThePrimaryServing(@ForAll @LongRange(min = 0, max = 3_600_000_000_000L) long sinceReboot) {
        PairSnapshot primary = new SnapshotBuilder().privateLinkDown().sinceRebootRequest(sinceReboot).build();
        FailoverDecision decision = decide(primary);
        Set<Action> allowed = EnumSet.of(Action.STAY, Action.REBOOT_BACKUP, Action.DECLARE_BACKUP_DOWN);
        if (!allowed.contains(decision.action())) {
            throw broken("rule 6: the primary keeps serving and deals with the backup", decision, primary);
        }
        PairSnapshot backup = new SnapshotBuilder().asBackup().privateLinkDown().build();
        FailoverDecision backupDecision = decide(backup);
        if (backupDecision.action() != Action.STAY) {
            throw broken("rule 6: the backup does not act on a split private link", backupDecision, backup);
        }
    }

    /**
     * Rule 7: when the primary has been silent on every path for the detection minimum, an
     * up-to-date backup with working networks takes over.
     *
     * @param extraSilence silence beyond the detection minimum
     */
    @Property(tries = 50)
    void aBackupTakesOverFromASilentPrimary(@ForAll @LongRange(min = 0, max = 60_000_000_000L) long extraSilence) {
        SnapshotBuilder builder = new SnapshotBuilder().asBackup();
        long silence = builder.build().timings().detectionMinimumNanos() + extraSilence;
        PairSnapshot snapshot = builder.peerSilentOnEveryPath(silence).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.TAKE_OVER) {
            throw broken("rule 7: the backup takes over from a silent primary", decision, snapshot);
        }
    }

    /**
     * Rules 7 and 8: a takeover only when the primary is silent on every path for the detection
     * minimum, by a node with usable data, not cut off from its public networks, not refused by
     * the witness, and, without a witness, with every public network of its own up.
     *
     * @param snapshot any snapshot
     */
    @Property(tries = 3000)
    void takeoversOnlyWhenTheyCannotMakeTwoPrimaries(@ForAll("snapshots") PairSnapshot snapshot) {
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.TAKE_OVER) {
            return;
        }
        NodeView self = snapshot.self();
        if (self.role() == PairRole.PRIMARY || self.role() == PairRole.STOPPED) {
            throw broken("rule 8: only a node that is not primary takes over", decision, snapshot);
        }
        if (!self.data().usable() || self.maintenance() || snapshot.witness() == WitnessStatus.REFUSED
                || snapshot.allPublicNetworksDown()) {
            throw broken("rule 7: takeover with unusable data, in maintenance, refused, or cut off", decision, snapshot);
        }
        if (snapshot.peerReachable()) {
            boolean election = snapshot.peer().isPresent() && snapshot.peer().get().role() != PairRole.PRIMARY
                    && snapshot.privatePath().peerAlive();
            if (!election) {
                throw broken("rule 8: takeover while the peer is heard and not electing", decision, snapshot);
            }
            return;
        }
        if (snapshot.peerSilenceNanos() < snapshot.timings().detectionMinimumNanos()) {
            throw broken("rule 8: takeover before the detection minimum", decision, snapshot);
        }
        if (snapshot.witness() == WitnessStatus.NOT_CONFIGURED && snapshot.anyPublicNetworkDown()) {
            throw broken("rule 8: takeover without a witness while one of this node's networks is down",
                    decision, snapshot);
        }
        if (self.role() == PairRole.BACKUP && self.data() != DataState.UP_TO_DATE) {
            throw broken("rule 7: a backup takes over only with up-to-date data", decision, snapshot);
        }
    }

    /**
     * Rule 8: a primary frozen past the isolation deadline stops serving.
     *
     * @param extra freeze beyond the deadline
     */
    @Property(tries = 50)
    void aFrozenPrimaryStepsDown(@ForAll @LongRange(min = 0, max = 60_000_000_000L) long extra) {
        SnapshotBuilder builder = new SnapshotBuilder();
        PairSnapshot snapshot = builder.pause(builder.build().timings().isolationDeadlineNanos() + extra).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.SELF_ISOLATE) {
            throw broken("rule 8: a primary frozen past the isolation deadline steps down", decision, snapshot);
        }
    }

    /**
     * Rule 8: a primary cut off from every path stops serving before its peer may take over.
     *
     * @param extra silence beyond the isolation deadline
     */
    @Property(tries = 50)
    void anIsolatedPrimaryStopsServing(@ForAll @LongRange(min = 0, max = 60_000_000_000L) long extra) {
        SnapshotBuilder builder = new SnapshotBuilder();
        long deadline = builder.build().timings().isolationDeadlineNanos();
        PairSnapshot snapshot = builder.peerSilentOnEveryPath(deadline + extra).localNetworkDown("lan")
                .faults(Fault.of(Component.PUBLIC_NETWORK, "lan", Severity.CRITICAL, "no carrier")).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.SELF_ISOLATE) {
            throw broken("rule 8: a primary cut off from every path stops serving", decision, snapshot);
        }
    }

    /**
     * Rule 8: a primary that learns its peer serves in a later epoch stops serving.
     */
    @Example
    void aPrimaryThatSeesALaterPrimaryStepsDown() {
        PairSnapshot snapshot = new SnapshotBuilder().peer(PairRole.PRIMARY, 3, Optional.empty()).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.SELF_ISOLATE) {
            throw broken("rule 8: a primary that sees a later primary steps down", decision, snapshot);
        }
    }

    /**
     * Rule 8, with a witness: a primary the peer no longer confirms keeps serving only with a
     * witness lease.
     *
     * @param status any witness answer but a grant
     */
    @Property(tries = 20)
    void withAWitnessAnUnconfirmedPrimaryNeedsALease(@ForAll("noLease") WitnessStatus status) {
        SnapshotBuilder builder = new SnapshotBuilder();
        long deadline = builder.build().timings().isolationDeadlineNanos();
        PairSnapshot snapshot = builder.peerSilentOnEveryPath(deadline).witness(status).build();
        FailoverDecision decision = decide(snapshot);
        if (decision.action() != Action.SELF_ISOLATE) {
            throw broken("rule 8: without a lease an unconfirmed primary stops", decision, snapshot);
        }
    }

    /** @return witness answers that give no lease */
    @Provide
    Arbitrary<WitnessStatus> noLease() {
        return Arbitraries.of(WitnessStatus.NOT_ASKED, WitnessStatus.REFUSED, WitnessStatus.UNREACHABLE);
    }

    /**
     * Only the primary acts on the backup: a backup never reboots or declares down its peer, nor
     * starts a graceful failover.
     *
     * @param snapshot any snapshot
     */
    @Property(tries = 1000)
    void onlyThePrimaryActsOnTheBackup(@ForAll("snapshots") PairSnapshot snapshot) {
        FailoverDecision decision = decide(snapshot);
        Set<Action> primaryOnly = EnumSet.of(Action.REBOOT_BACKUP, Action.DECLARE_BACKUP_DOWN, Action.MIGRATE_TO_PEER,
                Action.SELF_ISOLATE);
        if (primaryOnly.contains(decision.action()) && snapshot.self().role() != PairRole.PRIMARY) {
            throw broken("only a primary reboots, declares down, migrates to, or steps down from its peer", decision,
                    snapshot);
        }
    }
}
