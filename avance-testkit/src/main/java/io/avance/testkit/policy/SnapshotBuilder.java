package io.avance.testkit.policy;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.PairTimings;
import io.avance.api.failover.PathStatus;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds {@link PairSnapshot}s for tests, starting from a healthy pair: this node ({@code alpha})
 * primary and its peer ({@code beta}) an up-to-date backup in epoch 1, both healthy, the private
 * link and one public network ({@code lan}) alive, nothing frozen, roles settled for an hour.
 * Each method changes one thing. Not thread-safe.
 */
public final class SnapshotBuilder {

    /** An hour, in nanoseconds: long enough for every hold-off of the default policy. */
    public static final long HOUR = 3_600_000_000_000L;

    private final NodeId self = NodeId.of("alpha");
    private final NodeId peerId = NodeId.of("beta");
    private PairRole role = PairRole.PRIMARY;
    private long epoch = 1;
    private Optional<NodeId> epochPrimary = Optional.of(self);
    private List<Fault> faults = new ArrayList<>();
    private DataState data = DataState.UP_TO_DATE;
    private boolean maintenance;
    private boolean peerKnown = true;
    private PairRole peerRole = PairRole.BACKUP;
    private long peerEpoch = 1;
    private Optional<NodeId> peerEpochPrimary = Optional.of(self);
    private List<Fault> peerFaults = new ArrayList<>();
    private DataState peerData = DataState.UP_TO_DATE;
    private boolean peerMaintenance;
    private final Map<String, PathStatus> paths = new LinkedHashMap<>();
    private long peerSilence = 50_000_000L;
    private long peerAckAge = 60_000_000L;
    private long pause = 20_000_000L;
    private long sinceRoleChange = HOUR;
    private final List<Long> incidents = new ArrayList<>();
    private long sinceRebootRequest = Long.MAX_VALUE;
    private boolean peerDeclaredDown;
    private boolean peerFenced;
    private WitnessStatus witness = WitnessStatus.NOT_CONFIGURED;
    private final List<VmStatus> vms = new ArrayList<>();
    private PairTimings timings = PairTimings.defaults();

    /**
     * Starts from the healthy pair described above.
     */
    public SnapshotBuilder() {
        paths.put("private", new PathStatus("private", PathStatus.Kind.PRIVATE, true, true, true, 50_000_000L));
        paths.put("lan", new PathStatus("lan", PathStatus.Kind.PUBLIC, true, true, true, 50_000_000L));
    }

    /** @param role this node's role @param epoch its epoch @param primary the epoch's primary @return this */
    public SnapshotBuilder self(PairRole role, long epoch, Optional<NodeId> primary) {
        this.role = role;
        this.epoch = epoch;
        this.epochPrimary = primary;
        return this;
    }

    /** Makes this node the backup of {@code beta} in epoch 1, and beta the primary. @return this */
    public SnapshotBuilder asBackup() {
        self(PairRole.BACKUP, 1, Optional.of(peerId));
        peer(PairRole.PRIMARY, 1, Optional.of(peerId));
        return this;
    }

    /** @param role the peer's role @param epoch its epoch @param primary its epoch's primary @return this */
    public SnapshotBuilder peer(PairRole role, long epoch, Optional<NodeId> primary) {
        this.peerRole = role;
        this.peerEpoch = epoch;
        this.peerEpochPrimary = primary;
        return this;
    }

    /** The peer has never been heard. @return this */
    public SnapshotBuilder peerNeverHeard() {
        this.peerKnown = false;
        this.peerSilence = Long.MAX_VALUE;
        this.peerAckAge = Long.MAX_VALUE;
        for (String name : List.copyOf(paths.keySet())) {
            PathStatus path = paths.get(name);
            paths.put(name, new PathStatus(name, path.kind(), path.localUp(), false, false, Long.MAX_VALUE));
        }
        return this;
    }

    /** @param faults this node's active faults @return this */
    public SnapshotBuilder faults(Fault... faults) {
        this.faults = List.of(faults);
        return this;
    }

    /** @param faults the peer's active faults @return this */
    public SnapshotBuilder peerFaults(Fault... faults) {
        this.peerFaults = List.of(faults);
        return this;
    }

    /** @param self this node's data @param peer the peer's @return this */
    public SnapshotBuilder data(DataState self, DataState peer) {
        this.data = self;
        this.peerData = peer;
        return this;
    }

    /** @param self this node in maintenance @param peer the peer in maintenance @return this */
    public SnapshotBuilder maintenance(boolean self, boolean peer) {
        this.maintenance = self;
        this.peerMaintenance = peer;
        return this;
    }

    /** Adds a public network, alive both ways. @param name its name @return this */
    public SnapshotBuilder publicNetwork(String name) {
        paths.put(name, new PathStatus(name, PathStatus.Kind.PUBLIC, true, true, true, 50_000_000L));
        return this;
    }

    /**
     * The peer is silent on every path, and has not confirmed this node, for this long.
     *
     * @param nanos the silence
     * @return this
     */
    public SnapshotBuilder peerSilentOnEveryPath(long nanos) {
        this.peerSilence = nanos;
        this.peerAckAge = Math.max(peerAckAge, nanos);
        for (String name : List.copyOf(paths.keySet())) {
            PathStatus path = paths.get(name);
            paths.put(name, new PathStatus(name, path.kind(), path.kind() == PathStatus.Kind.PUBLIC && path.localUp(),
                    path.peerLocalUp(), false, nanos));
        }
        return this;
    }

    /** The private link is down (the peer still heard on the public networks). @return this */
    public SnapshotBuilder privateLinkDown() {
        paths.put("private", new PathStatus("private", PathStatus.Kind.PRIVATE, false, false, false, 2_000_000_000L));
        return this;
    }

    /**
     * The private link is connected but the peer is not heard on it (suspected) since a while.
     *
     * @param silenceNanos how long the peer has not been heard on it
     * @return this
     */
    public SnapshotBuilder privateLinkSilent(long silenceNanos) {
        paths.put("private", new PathStatus("private", PathStatus.Kind.PRIVATE, true, true, false, silenceNanos));
        return this;
    }

    /** This node's own connection to a public network is down. @param name the network @return this */
    public SnapshotBuilder localNetworkDown(String name) {
        PathStatus path = paths.get(name);
        paths.put(name, new PathStatus(name, PathStatus.Kind.PUBLIC, false, path.peerLocalUp(), false,
                Math.max(path.silenceNanos(), 2_000_000_000L)));
        return this;
    }

    /** @param nanos time since the peer last confirmed hearing this node @return this */
    public SnapshotBuilder peerAckAge(long nanos) {
        this.peerAckAge = nanos;
        return this;
    }

    /** @param nanos how long this node was just frozen @return this */
    public SnapshotBuilder pause(long nanos) {
        this.pause = nanos;
        return this;
    }

    /** @param nanos time since this node's role changed @return this */
    public SnapshotBuilder sinceRoleChange(long nanos) {
        this.sinceRoleChange = nanos;
        return this;
    }

    /** @param agesNewestFirst ages of the peer's incidents @return this */
    public SnapshotBuilder incidents(long... agesNewestFirst) {
        incidents.clear();
        for (long age : agesNewestFirst) {
            incidents.add(age);
        }
        return this;
    }

    /** @param nanos time since the last reboot request @return this */
    public SnapshotBuilder sinceRebootRequest(long nanos) {
        this.sinceRebootRequest = nanos;
        return this;
    }

    /** @param declaredDown the peer is declared down @return this */
    public SnapshotBuilder peerDeclaredDown(boolean declaredDown) {
        this.peerDeclaredDown = declaredDown;
        return this;
    }

    /** @param status the witness's last answer @return this */
    public SnapshotBuilder witness(WitnessStatus status) {
        this.witness = status;
        return this;
    }

    /**
     * Adds a VM.
     *
     * @param name                  its name
     * @param state                 its state
     * @param recentRestarts        restarts in the window
     * @param sinceLastRestartNanos time since its last restart
     * @return this
     */
    public SnapshotBuilder vm(String name, VmState state, int recentRestarts, long sinceLastRestartNanos) {
        vms.add(new VmStatus(name, state, recentRestarts, sinceLastRestartNanos));
        return this;
    }

    /** @param timings the pair's timings @return this */
    public SnapshotBuilder timings(PairTimings timings) {
        this.timings = timings;
        return this;
    }

    /**
     * Builds the snapshot.
     *
     * @return the snapshot
     */
    public PairSnapshot build() {
        NodeView selfView = new NodeView(self, role, epoch, epochPrimary, HealthScore.of(faults), data, maintenance);
        Optional<NodeView> peerView = peerKnown ? Optional.of(new NodeView(peerId, peerRole, peerEpoch,
                peerEpochPrimary, HealthScore.of(peerFaults), peerData, peerMaintenance)) : Optional.empty();
        return new PairSnapshot(selfView, peerView, new ArrayList<>(paths.values()), peerSilence, peerAckAge, pause,
                sinceRoleChange, incidents, sinceRebootRequest, peerDeclaredDown, peerFenced, witness, vms, timings);
    }
}
