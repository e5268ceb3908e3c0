package io.avance.core.failover;

import io.avance.api.PairRole;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverDecision.Action;
import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.PairTimings;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The failover rules of the design, from the point of view of one node.
 *
 * <table>
 *   <caption>Rules and where they are decided</caption>
 *   <tr><th>Rule</th><th>Decision</th></tr>
 *   <tr><td>1. fail over only to a healthier backup</td><td>primary: MIGRATE_TO_PEER only if the
 *       peer is healthier by the margin, in sync, reachable over the private link, and the last
 *       role change is older than the hold-off</td></tr>
 *   <tr><td>2. backup faults</td><td>primary: a critical fault on a rebootable component, or a
 *       backup silent on every path: REBOOT_BACKUP; when its incidents come too often,
 *       DECLARE_BACKUP_DOWN; other faults are only reported (STAY)</td></tr>
 *   <tr><td>3. failed VM restarted where it runs</td><td>any node: RESTART_VM with doubling
 *       back-off, up to the limit</td></tr>
 *   <tr><td>4, 5. primary loses a public network or a disk</td><td>the critical fault lowers its
 *       score below the backup's: MIGRATE_TO_PEER through rule 1 (the engine forwards traffic or
 *       I/O over the private link meanwhile)</td></tr>
 *   <tr><td>6. private link fails, public paths alive</td><td>primary keeps serving and, once the
 *       link has been silent for the detection minimum, reboots the backup (REBOOT_BACKUP, then
 *       DECLARE_BACKUP_DOWN); backup STAYs</td></tr>
 *   <tr><td>7. primary crashes</td><td>backup: TAKE_OVER after the primary is silent on every path
 *       for the detection time, if its data is up to date and, without a witness, every one of its
 *       own public networks is up (otherwise the primary might be alive on the network it lost)</td></tr>
 *   <tr><td>8. never two primaries</td><td>primary: SELF_ISOLATE when a later epoch has a primary,
 *       when it was frozen past the isolation deadline, or when its peer can no longer confirm it
 *       and it holds no witness lease and is cut off (or a witness is configured)</td></tr>
 * </table>
 *
 * <p>Pure, stateless and thread-safe.
 */
public final class DefaultFailoverPolicy implements FailoverPolicy {

    private final PolicyConfig config;

    /**
     * Creates the policy with the given settings.
     *
     * @param config margins, hold-offs and thresholds
     */
    public DefaultFailoverPolicy(PolicyConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /**
     * The policy with default settings.
     *
     * @return the policy
     */
    public static DefaultFailoverPolicy withDefaults() {
        return new DefaultFailoverPolicy(PolicyConfig.defaults());
    }

    /**
     * The settings this policy decides with.
     *
     * @return the configuration
     */
    public PolicyConfig config() {
        return config;
    }

    @Override
    public FailoverDecision decide(PairSnapshot snapshot) {
        return switch (snapshot.self().role()) {
            case PRIMARY -> asPrimary(snapshot);
            case BACKUP -> asBackup(snapshot);
            case UNDECIDED, ISOLATED -> asUnplaced(snapshot);
            case STOPPED -> FailoverDecision.stay("node is stopped");
        };
    }

    private FailoverDecision asPrimary(PairSnapshot s) {
        NodeView self = s.self();
        PairTimings timings = s.timings();
        Optional<NodeView> peer = s.peer();
        if (peer.isPresent() && peer.get().role() == PairRole.PRIMARY && peer.get().epoch() > self.epoch()) {
            return FailoverDecision.of(Action.SELF_ISOLATE, "the peer serves as primary in the later epoch "
                    + peer.get().epoch() + " (this node's is " + self.epoch() + ")");
        }
        if (s.pauseNanos() >= timings.isolationDeadlineNanos()) {
            return FailoverDecision.of(Action.SELF_ISOLATE, "this node was frozen for " + millis(s.pauseNanos())
                    + ", long enough for the peer to take over");
        }
        if (s.peerAckAgeNanos() >= timings.isolationDeadlineNanos() && s.witness() != WitnessStatus.GRANTED) {
            if (s.witness() != WitnessStatus.NOT_CONFIGURED) {
                return FailoverDecision.of(Action.SELF_ISOLATE, "the peer has not confirmed this node for "
                        + millis(s.peerAckAgeNanos()) + " and the witness gave no lease (" + s.witness() + ")");
            }
            if (s.allPublicNetworksDown()) {
                return FailoverDecision.of(Action.SELF_ISOLATE, "cut off: the peer has not confirmed this node for "
                        + millis(s.peerAckAgeNanos()) + " and every public network is down");
            }
        }
        Optional<FailoverDecision> restart = restartCrashedVm(s.vms());
        if (restart.isPresent()) {
            return restart.get();
        }
        if (peer.isEmpty()) {
            return FailoverDecision.stay("serving; the peer has never been heard");
        }
        if (!s.peerReachable()) {
            return backupTrouble(s, "the backup is silent on every path");
        }
        boolean ourBackup = peer.get().role() == PairRole.BACKUP && peer.get().epoch() == self.epoch();
        if (!ourBackup) {
            return FailoverDecision.stay("serving; the peer is joining (" + peer.get().role() + " in epoch "
                    + peer.get().epoch() + ")");
        }
        if (!s.privatePath().peerAlive()) {
            // As for a takeover, suspicion is not enough: the link must have been silent for the
            // detection minimum. Bulk traffic (a migration, a resync) can delay its heartbeats
            // past the detector's threshold without the link being down, and a reboot of the
            // backup then would cost the pair its redundancy, and the migration under way.
            if (s.privatePath().silenceNanos() < timings.detectionMinimumNanos()) {
                return FailoverDecision.stay("the private link is suspected, not yet silent for the detection"
                        + " minimum");
            }
            return backupTrouble(s, "the private link is down while the backup runs");
        }
        for (Fault fault : peer.get().health().faults()) {
            if (fault.severity() == Severity.CRITICAL && !fault.predicted()
                    && config.rebootableComponents().contains(fault.component())) {
                return backupTrouble(s, "the backup has a serious fault: " + fault.component() + " "
                        + fault.location() + " (" + fault.description() + ")");
            }
        }
        Optional<String> ineligible = whyNotFailoverTarget(s, peer.get());
        if (ineligible.isEmpty() && peer.get().health().isHealthierThan(self.health(), config.healthMargin())) {
            return FailoverDecision.of(Action.MIGRATE_TO_PEER, "the backup is healthier ("
                    + peer.get().health().value() + " against " + self.health().value() + ", margin "
                    + config.healthMargin() + ")");
        }
        return FailoverDecision.stay("serving");
    }

    private Optional<String> whyNotFailoverTarget(PairSnapshot s, NodeView peer) {
        if (s.peerDeclaredDown()) {
            return Optional.of("the backup is declared down");
        }
        if (peer.role() != PairRole.BACKUP || peer.epoch() != s.self().epoch()) {
            return Optional.of("the peer is not this epoch's backup");
        }
        if (peer.data() != DataState.UP_TO_DATE) {
            return Optional.of("the backup's data is " + peer.data());
        }
        if (peer.maintenance()) {
            return Optional.of("the backup is in maintenance");
        }
        if (s.sinceRoleChangeNanos() < config.failoverHoldOffNanos()) {
            return Optional.of("roles changed too recently");
        }
        return Optional.empty();
    }

    private FailoverDecision backupTrouble(PairSnapshot s, String why) {
        if (s.peerDeclaredDown()) {
            return FailoverDecision.stay(why + "; the backup is declared down");
        }
        long mtbf = meanIncidentIntervalNanos(s.peerIncidentAgesNanos());
        if (mtbf < config.backupMtbfThresholdNanos()) {
            return FailoverDecision.of(Action.DECLARE_BACKUP_DOWN, why + "; the backup needed "
                    + countInWindow(s.peerIncidentAgesNanos()) + " reboots, about one every " + millis(mtbf)
                    + ", more often than the threshold allows");
        }
        if (s.sinceRebootRequestNanos() >= config.rebootHoldOffNanos()) {
            return FailoverDecision.of(Action.REBOOT_BACKUP, why);
        }
        return FailoverDecision.stay(why + "; a reboot was requested " + millis(s.sinceRebootRequestNanos()) + " ago");
    }

    /**
     * The mean interval between the backup's incidents inside the window, or
     * {@link Long#MAX_VALUE} with too few of them.
     */
    private long meanIncidentIntervalNanos(List<Long> agesNewestFirst) {
        long oldest = -1;
        int count = 0;
        for (long age : agesNewestFirst) {
            if (age < config.incidentWindowNanos()) {
                count++;
                oldest = Math.max(oldest, age);
            }
        }
        if (count < config.minIncidentsForMtbf()) {
            return Long.MAX_VALUE;
        }
        long newest = Long.MAX_VALUE;
        for (long age : agesNewestFirst) {
            if (age < config.incidentWindowNanos()) {
                newest = Math.min(newest, age);
            }
        }
        return (oldest - newest) / (count - 1);
    }

    private int countInWindow(List<Long> ages) {
        int count = 0;
        for (long age : ages) {
            if (age < config.incidentWindowNanos()) {
                count++;
            }
        }
        return count;
    }

    private Optional<FailoverDecision> restartCrashedVm(List<VmStatus> vms) {
        for (VmStatus vm : vms) {
            if (vm.state() != VmState.CRASHED || vm.recentRestarts() >= config.vmRestartLimit()) {
                continue;
            }
            long backoff = config.vmRestartBackoffNanos();
            for (int i = 0; i < vm.recentRestarts() && backoff < config.vmRestartBackoffMaxNanos(); i++) {
                backoff *= 2;
            }
            backoff = Math.min(backoff, config.vmRestartBackoffMaxNanos());
            if (vm.sinceLastRestartNanos() >= backoff) {
                return Optional.of(FailoverDecision.restartVm(vm.name(), "the VM crashed; restart "
                        + (vm.recentRestarts() + 1) + " of at most " + config.vmRestartLimit()));
            }
        }
        return Optional.empty();
    }

    private FailoverDecision asBackup(PairSnapshot s) {
        Optional<FailoverDecision> restart = restartCrashedVm(s.vms());
        if (restart.isPresent()) {
            return restart.get();
        }
        if (s.peerReachable()) {
            Optional<NodeView> peer = s.peer();
            if (peer.isPresent() && peer.get().role() != PairRole.PRIMARY) {
                // The primary restarted, or stepped down: whoever has the better claim takes the
                // next epoch, with the other's promise.
                return elect(s, peer.get());
            }
            return FailoverDecision.stay(s.privatePath().peerAlive() ? "backing up"
                    : "the private link is down; the primary decides");
        }
        if (s.peerSilenceNanos() < s.timings().detectionMinimumNanos()) {
            return FailoverDecision.stay("the primary is suspected, not yet silent for the detection minimum");
        }
        return takeOverIfSafe(s, "the primary has been silent on every path for " + millis(s.peerSilenceNanos()),
                DataState.UP_TO_DATE);
    }

    private FailoverDecision takeOverIfSafe(PairSnapshot s, String why, DataState worstAcceptable) {
        NodeView self = s.self();
        if (s.allPublicNetworksDown()) {
            return FailoverDecision.stay(why + ", but this node is cut off from every public network");
        }
        if (!s.peerReachable() && s.witness() == WitnessStatus.NOT_CONFIGURED && s.anyPublicNetworkDown()) {
            return FailoverDecision.stay(why + ", but one of this node's public networks is down: the primary may"
                    + " still serve on it, unheard (a witness would settle this)");
        }
        if (self.data().compareTo(worstAcceptable) > 0) {
            return FailoverDecision.stay(why + ", but this node's data is " + self.data()
                    + ": taking over would lose acknowledged writes");
        }
        if (self.maintenance()) {
            return FailoverDecision.stay(why + ", but this node is in maintenance");
        }
        if (s.witness() == WitnessStatus.REFUSED) {
            return FailoverDecision.stay(why + ", but the witness refused this node");
        }
        return FailoverDecision.of(Action.TAKE_OVER, why);
    }

    private FailoverDecision asUnplaced(PairSnapshot s) {
        NodeView self = s.self();
        Optional<NodeView> peer = s.peer();
        if (s.peerReachable()) {
            if (peer.isEmpty()) {
                return FailoverDecision.stay("the peer is heard; waiting to learn its role");
            }
            NodeView other = peer.get();
            if (other.role() == PairRole.PRIMARY) {
                return FailoverDecision.stay("the peer is primary; joining it as backup");
            }
            return elect(s, other);
        }
        if (s.peerSilenceNanos() < s.timings().detectionMinimumNanos()) {
            return FailoverDecision.stay("listening for the peer");
        }
        if (self.epoch() > 0 && self.primaryOfItsEpoch()) {
            return takeOverIfSafe(s, "this node was primary of epoch " + self.epoch()
                    + " and the peer is silent on every path", DataState.CONSISTENT);
        }
        return FailoverDecision.stay(self.epoch() == 0 ? "waiting for the peer to pair for the first time"
                : "waiting for the peer: this node was not the last primary, its data may be behind");
    }

    private FailoverDecision elect(PairSnapshot s, NodeView other) {
        if (!s.privatePath().peerAlive()) {
            return FailoverDecision.stay("no primary, and the private link is down: waiting for it to elect one");
        }
        if (electedOver(s.self(), other)) {
            return takeOverIfSafe(s, "elected primary over " + other.id(), DataState.CONSISTENT);
        }
        return FailoverDecision.stay("no primary; the peer " + other.id() + " is the better candidate");
    }

    /**
     * The election order when neither node is primary: better data first, then better health (by
     * the margin), then the node that was primary of the latest epoch, then the smaller id.
     */
    boolean electedOver(NodeView self, NodeView other) {
        int data = self.data().compareTo(other.data());
        if (data != 0) {
            return data < 0;
        }
        if (self.health().isHealthierThan(other.health(), config.healthMargin())) {
            return true;
        }
        if (other.health().isHealthierThan(self.health(), config.healthMargin())) {
            return false;
        }
        long latest = Math.max(self.epoch(), other.epoch());
        Optional<?> latestPrimary = self.epoch() >= other.epoch() ? self.epochPrimary() : other.epochPrimary();
        if (latest > 0 && latestPrimary.isPresent()) {
            if (latestPrimary.get().equals(self.id())) {
                return true;
            }
            if (latestPrimary.get().equals(other.id())) {
                return false;
            }
        }
        return self.id().compareTo(other.id()) < 0;
    }

    private static String millis(long nanos) {
        return nanos == Long.MAX_VALUE ? "ever" : nanos / 1_000_000 + " ms";
    }
}
