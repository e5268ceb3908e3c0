package io.avance.core.pair;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.event.DecisionTaken;
import io.avance.api.event.PathChanged;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.RoleChanged;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.PairTimings;
import io.avance.api.failover.PathStatus;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessAnswer;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import io.avance.core.detect.PauseMonitor;
import io.avance.core.detect.PhiAccrualDetector;
import io.avance.core.health.FaultRegistry;
import io.avance.core.wire.Message;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The protocol logic of one node of a pair.
 *
 * <p>Confined to one owner thread: every {@code on...} method must be called from it, with the
 * owner's clock reading. {@link #mayServe}, {@link #role()} and {@link #status()} may be read from
 * any thread. The controller never blocks, never reads a clock, and reaches the world only through
 * its {@link PairEnvironment}.
 *
 * <h2>Duty cycle ({@link #onTick})</h2>
 * <ol>
 *   <li>measure how long the cycle was frozen, and stop serving if the serving lease ran out
 *       (before anything is sent that could renew it);</li>
 *   <li>judge every path with its failure detector;</li>
 *   <li>renew the witness lease if the peer has gone quiet;</li>
 *   <li>build a {@link PairSnapshot} and carry out the policy's decision, within the safety
 *       rules;</li>
 *   <li>send heartbeats on every path when due, and recompute the serving lease.</li>
 * </ol>
 *
 * <h2>Epoch changes</h2>
 * <pre>
 *   election (peer reachable, no primary):   candidate --PROMOTE_REQUEST(E)--&gt; voter
 *                                             voter persists (E, candidate), becomes BACKUP
 *                                             candidate &lt;--PROMOTE_REPLY(E, granted)-- voter
 *                                             candidate persists (E, self), becomes PRIMARY
 *   takeover (peer silent on every path for the detection minimum):
 *                                             [witness grant for E, if configured]
 *                                             persist (E, self) with E of own parity, PRIMARY
 *   handover (graceful switchover):           primary migrates VMs, persists (E, peer),
 *                                             becomes BACKUP, sends HANDOVER(E); heartbeats
 *                                             carry (E, peer) until the peer adopts it
 *   adoption: a heartbeat naming a later epoch is persisted and obeyed: its primary serves,
 *             everyone else is backup.
 * </pre>
 */
public final class PairController {

    private static final Logger LOG = System.getLogger(PairController.class.getName());

    /** The name of the private path in snapshots, events and metrics. */
    public static final String PRIVATE_PATH = "private";

    private static final int SEND_LOG_SIZE = 1024;
    private static final long NEVER = Long.MIN_VALUE;

    private final ControllerSettings settings;
    private final FailoverPolicy policy;
    private final FaultRegistry faults;
    private final PairEnvironment environment;
    private final Clock wallClock;
    private final long incarnation;
    private final PairTimings timings;
    private final NodeId self;
    private final Optional<NodeId> peerId;

    private final PathTracker[] paths;
    private final PauseMonitor pauseMonitor;
    private final long[] sendLogSeq = new long[SEND_LOG_SIZE];
    private final long[] sendLogNanos = new long[SEND_LOG_SIZE];
    private final Deque<Long> peerIncidents = new ArrayDeque<>();

    private final Counter invariantViolations;
    private final MeterRegistry meters;

    // Persisted state, mirrored.
    private long epoch;
    private Optional<NodeId> epochPrimary;

    private volatile PairRole role = PairRole.UNDECIDED;
    private volatile long leaseUntilNanos = NEVER;
    private volatile PairStatus status;
    private volatile boolean maintenance;

    private long roleChangedAtNanos;
    private long takeoverAtNanos = -1;
    private long seq;
    private long lastHeartbeatSentNanos = NEVER;
    /**
     * When the peer surely heard this node last, as proved by how it became primary (the promise
     * request the peer answered, the heartbeat a handover echoed; the moment of a takeover from a
     * silent peer): the serving lease counts from it until heartbeats take over.
     */
    private long primaryAnchorNanos = NEVER;
    private long peerAckedSendNanos = NEVER;
    /** The highest of this incarnation's heartbeat seqs the peer has echoed. */
    private long peerEchoedSeq;

    private volatile Message.Heartbeat peerHeartbeat;
    /**
     * The peer's current incarnation. Incarnations grow with every start of a node (they begin
     * with the start's wall-clock time), so a datagram of an earlier one (a replay, or one delayed
     * past the peer's restart) is recognised and dropped.
     */
    private long peerIncarnation;
    /** When the current incarnation was last heard on any path. */
    private long heardCurrentIncarnationNanos = NEVER;
    /** The peer's earlier incarnations: a datagram delayed past its restart must not revive one. */
    private final Deque<Long> retiredPeerIncarnations = new ArrayDeque<>();
    private long highestSeqFromPeer;
    private boolean peerDeclaredDown;
    private boolean peerFenced;
    private long lastRebootRequestNanos = NEVER;
    private long rebootRequestIds;
    private long lastRebootHandled = -1;
    private boolean incidentOpen;
    private boolean peerWasReachable;

    private Pending pendingPromote;
    private long pendingTakeoverEpoch = -1;
    private boolean handoverInProgress;

    private WitnessStatus witnessStatus;
    /**
     * The highest epoch this node has claimed at the witness, heard the witness record, or been
     * told by its peer it would not accept. New epochs are chosen above it: a claim granted but not
     * used (the peer came back) must not leave the witness holding an epoch above every one the
     * pair uses, or renewals would be refused.
     */
    private long epochFloor;
    private long witnessLeaseUntilNanos = NEVER;
    /** When the witness last refused this node (its answer stands until any lease it protects may have ended). */
    private long witnessRefusedAtNanos = NEVER;
    private boolean witnessClaimInFlight;
    private long lastWitnessClaimNanos = NEVER;

    /** The first heartbeat seq that told the peer this node writes without it; 0 while it does not. */
    private long degradedFromSeq;
    private final List<DegradedFence> degradedFences = new ArrayList<>();
    private boolean peerSilenceReported;
    /** Whether the environment has been told that the private link is silent, since it was last heard. */
    private boolean privateLinkSilenceReported;

    private FailoverDecision lastDecision = FailoverDecision.stay("starting");
    private long nowNanos;
    /** Whether a duty cycle has run yet. */
    private boolean ticked;

    private record Pending(long epoch, long sentAtNanos) {
    }

    private record DegradedFence(CompletableFuture<Void> future, long deadlineNanos) {
    }

    /**
     * Creates a controller for a node that starts with no role.
     *
     * @param settings    what it needs from the configuration
     * @param policy      the failover policy
     * @param faults      this node's faults
     * @param environment its effects on the world
     * @param initial     the persisted epoch state it starts from
     * @param wallClock   for event times
     * @param meters      where metrics go
     * @param incarnation a random number identifying this run of the node
     * @param nowNanos    the owner's clock reading at creation
     */
    public PairController(ControllerSettings settings, FailoverPolicy policy, FaultRegistry faults,
                          PairEnvironment environment, PersistedPairState initial, Clock wallClock,
                          MeterRegistry meters, long incarnation, long nowNanos) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.faults = Objects.requireNonNull(faults, "faults");
        this.environment = Objects.requireNonNull(environment, "environment");
        this.wallClock = Objects.requireNonNull(wallClock, "wallClock");
        this.meters = Objects.requireNonNull(meters, "meters");
        if (!initial.node().equals(settings.self())) {
            throw new IllegalArgumentException("state of " + initial.node() + " given to " + settings.self());
        }
        this.incarnation = incarnation;
        this.timings = settings.timings();
        this.self = settings.self();
        this.peerId = settings.peer();
        this.epoch = initial.epoch();
        this.epochPrimary = initial.epochPrimary();
        this.nowNanos = nowNanos;
        this.pauseMonitor = new PauseMonitor(nowNanos);
        this.roleChangedAtNanos = nowNanos;
        this.witnessStatus = settings.witnessConfigured() ? WitnessStatus.NOT_ASKED : WitnessStatus.NOT_CONFIGURED;
        List<PathTracker> trackers = new ArrayList<>();
        trackers.add(new PathTracker(PRIVATE_PATH, PathStatus.Kind.PRIVATE, timings, nowNanos));
        for (String network : settings.publicNetworks()) {
            trackers.add(new PathTracker(network, PathStatus.Kind.PUBLIC, timings, nowNanos));
        }
        this.paths = trackers.toArray(new PathTracker[0]);
        this.invariantViolations = Counter.builder("avance.pair.invariant.violations")
                .description("times this node saw the pair break a safety invariant (two primaries named for one epoch)")
                .tag("node", self.value()).register(meters);
        Gauge.builder("avance.pair.role", this, c -> c.role.ordinal())
                .description("this node's role: 0 undecided, 1 primary, 2 backup, 3 isolated, 4 stopped")
                .tag("node", self.value()).register(meters);
        Gauge.builder("avance.pair.epoch", this, c -> c.status == null ? 0 : c.status.epoch())
                .description("the latest epoch this node knows").tag("node", self.value()).register(meters);
        Gauge.builder("avance.pair.peer.silence.seconds", this,
                        c -> c.status == null || c.status.peerSilenceNanos() == Long.MAX_VALUE ? Double.NaN
                                : c.status.peerSilenceNanos() / 1e9)
                .description("time since the peer was heard on any path").tag("node", self.value()).register(meters);
        Gauge.builder("avance.health.peer.score", this, c -> {
            Message.Heartbeat last = c.peerHeartbeat;
            return last == null ? Double.NaN : HealthScore.of(last.faults()).value();
        }).description("the peer's health score as of its last heartbeat, 0 to 1000")
                .tag("node", self.value()).register(meters);
        for (PathTracker path : paths) {
            Gauge.builder("avance.pair.path.alive", path, p -> p.alive ? 1 : 0)
                    .description("1 while the failure detector judges the peer alive on this path")
                    .tags("node", self.value(), "path", path.name).register(meters);
        }
        publishStatus();
    }

    // ------------------------------------------------------------------------------------------
    // Thread-safe reads

    /**
     * Tells whether this node may serve (run VMs, acknowledge writes) at a given moment. Data paths
     * call this with a fresh clock reading; it needs no lock.
     *
     * @param nowNanos a reading of the owner's clock
     * @return true if this node is primary and its serving lease holds at that moment
     */
    public boolean mayServe(long nowNanos) {
        return role == PairRole.PRIMARY && nowNanos < leaseUntilNanos;
    }

    /**
     * This node's role, consistent with {@link #status()} (published together with it). Data
     * paths use {@link #mayServe}, which sees a step-down at once.
     *
     * @return the role
     */
    public PairRole role() {
        return status.role();
    }

    /**
     * This node's role as of the last change, before the status that reports it is published:
     * what code called back from a role change ({@link PairEnvironment#onRoleChanged}) must see.
     *
     * @return the role
     */
    public PairRole liveRole() {
        return role;
    }

    /**
     * The status as of the end of the last duty cycle or event.
     *
     * @return an immutable status
     */
    public PairStatus status() {
        return status;
    }

    /**
     * This run's incarnation.
     *
     * @return the random number sent in every heartbeat
     */
    public long incarnation() {
        return incarnation;
    }

    /**
     * Puts the node in or out of maintenance mode (it then takes no VMs and does not take over).
     *
     * @param on true to enter maintenance
     */
    public void setMaintenance(boolean on) {
        maintenance = on;
    }

    /**
     * An operator asks for a planned switchover: move the VMs to the backup gracefully and hand the
     * primary role over, as the policy does when the backup is healthier, but without waiting for a
     * reason (a rolling upgrade, maintenance of this node). The backup must be this epoch's backup,
     * reachable over the private link, up to date and not in maintenance.
     *
     * @param reason why, for the journal
     * @param now    the owner's clock reading
     * @return "started", "pending" (one is under way), or "refused: why"
     */
    public String requestSwitchover(String reason, long now) {
        nowNanos = now;
        if (role != PairRole.PRIMARY || peerId.isEmpty()) {
            return "refused: this node is not the primary";
        }
        for (VmStatus vm : environment.vms()) {
            if (vm.state() == VmState.STARTING || vm.state() == VmState.STOPPING) {
                return "refused: VM " + vm.name() + " is " + vm.state() + "; a switchover live-migrates running VMs,"
                        + " try again once it has started or stopped";
            }
        }
        Message.Heartbeat peer = peerHeartbeat;
        if (peer == null || peer.role() != PairRole.BACKUP || peer.epoch() != epoch) {
            return "refused: the peer is not this epoch's backup";
        }
        if (peer.data() != DataState.UP_TO_DATE) {
            return "refused: the backup's data is " + peer.data() + "; wait until it is resynchronised";
        }
        if (peer.maintenance()) {
            return "refused: the backup is in maintenance";
        }
        if (peerDeclaredDown) {
            return "refused: the backup is declared down";
        }
        String outcome = migrateToPeer("operator: " + reason);
        if (outcome.equals("started")) {
            environment.audit("switchover", "to " + peerId.get() + ": " + reason, "requested by an operator");
        }
        return outcome;
    }

    // ------------------------------------------------------------------------------------------
    // Inputs (owner thread)

    /**
     * Runs one duty cycle.
     *
     * @param now the owner's clock reading
     */
    public void onTick(long now) {
        nowNanos = now;
        if (role == PairRole.STOPPED) {
            return;
        }
        long pause = pauseMonitor.onCycle(now);
        if (pause > timings.heartbeatIntervalNanos()) {
            forgetSilenceWhileFrozen(pause, now, !ticked);
        }
        ticked = true;
        // The lease is judged before anything is sent: a frozen primary must not renew it by
        // sending the heartbeat that is overdue.
        if (role == PairRole.PRIMARY && now >= leaseUntilNanos) {
            transition(PairRole.ISOLATED, leaseExpiryReason(now));
        }
        faults.refresh();
        judgePaths(now);
        reportPrivateLinkSilence(now);
        renewWitnessIfQuiet(now);
        expirePending(now);
        reportLongSilence(now);
        if (peerId.isEmpty() && (role == PairRole.UNDECIDED || role == PairRole.ISOLATED)) {
            // A standalone node has nobody to pair with or to fail over to: it serves alone (and its
            // volumes track every write for the peer that may join later).
            becomePrimary(nextEpoch(epoch, 0), "standalone node: no peer is configured", now);
        }
        decide(now, pause);
        if (lastHeartbeatSentNanos == NEVER || now - lastHeartbeatSentNanos >= timings.heartbeatIntervalNanos()) {
            sendHeartbeats(now);
        }
        updateLease(now);
        releaseDegradedFences(now, false);
        publishStatus();
    }

    /**
     * This node was frozen (or had not started its duty cycle yet): it heard nothing meanwhile,
     * whatever the peer sent, since what waits in the socket buffers has not been read yet, and
     * this cycle runs before it is. So the peer's silence counts only from now on every path:
     * no decision may rest on time this node did not watch. A node that has just started thus
     * claims nothing until it has heard its peer or watched it stay silent for the detection
     * minimum while running.
     *
     * <p>Why a gap of one heartbeat interval: while the peer lives and the network works, a
     * running node hears it at least every interval plus the delivery allowance; a shorter,
     * unnoticed gap adds at most one more interval, so the silence it measures stays below
     * the detection minimum (at least three intervals) and cannot start a takeover.
     */
    private void forgetSilenceWhileFrozen(long pause, long now, boolean firstCycle) {
        if (firstCycle) {
            LOG.log(Level.INFO, "{0}: the duty cycle began {1} ms after the controller was made; the peer''s"
                    + " silence counts from now", self, pause / 1_000_000);
        } else {
            LOG.log(Level.WARNING, "{0}: the duty cycle was frozen for {1} ms; the peer''s silence counts from now",
                    self, pause / 1_000_000);
        }
        for (PathTracker path : paths) {
            path.countSilenceFrom = Math.max(path.countSilenceFrom, now);
        }
    }

    /**
     * This node, as primary, is about to acknowledge writes its peer's copy lacks: tells the peer
     * at once (every heartbeat carries the flag from now on) and answers when the peer either knows
     * its copy is outdated (it echoed a flagged heartbeat) or can no longer take over with it (its
     * silence rule, {@link #outdateAfterNanos()}, has surely marked it outdated).
     *
     * <p>Without this fence a backup that stopped hearing this node could later take over with a
     * copy missing writes this node acknowledged, once this node had crashed.
     *
     * @param now the owner's clock reading
     * @return completes when the writes may be acknowledged
     */
    public CompletableFuture<Void> announceDegraded(long now) {
        nowNanos = now;
        CompletableFuture<Void> fence = new CompletableFuture<>();
        if (peerId.isEmpty() || role != PairRole.PRIMARY) {
            fence.complete(null);
            return fence;
        }
        // The deadline counts from now: every heartbeat sent from now on carries the flag, so the
        // last unflagged one the peer can hear is older, and its silence rule fires before this.
        degradedFences.add(new DegradedFence(fence, now + outdateAfterNanos() + 2 * timings.safetyMarginNanos()));
        sendHeartbeats(now);
        releaseDegradedFences(now, false);
        return fence;
    }

    /**
     * How long a backup may stay silent-but-up-to-date: longer than any takeover could take
     * (the detection maximum, plus the witness lease when there is a witness, plus the margin).
     */
    private long outdateAfterNanos() {
        return timings.detectionMaximumNanos() + (settings.witnessConfigured() ? timings.detectionMinimumNanos() : 0)
                + timings.safetyMarginNanos();
    }

    private void releaseDegradedFences(long now, boolean all) {
        if (degradedFences.isEmpty()) {
            return;
        }
        boolean echoed = degradedFromSeq > 0 && peerEchoedSeq >= degradedFromSeq;
        for (java.util.Iterator<DegradedFence> it = degradedFences.iterator(); it.hasNext(); ) {
            DegradedFence fence = it.next();
            if (all || echoed || now >= fence.deadlineNanos() || role != PairRole.PRIMARY) {
                it.remove();
                fence.future().complete(null);
            }
        }
    }

    /**
     * Tells the environment, once per silence, that the private link has been silent for the
     * detection minimum: the pair's own failure detection, which judges the link within about
     * half a second, is what the replicated volumes go by, not a TCP timeout or the replication
     * acknowledgement timeout (rule 6 without freezing the guests' disks).
     */
    private void reportPrivateLinkSilence(long now) {
        PathTracker link = paths[0];
        if (link.alive || peerId.isEmpty() || link.lastHeardNanos == NEVER) {
            // (A link never heard has nothing waiting on it: the peer has not come yet.)
            privateLinkSilenceReported = false;
            return;
        }
        long silence = link.silence(now);
        if (!privateLinkSilenceReported && silence >= timings.detectionMinimumNanos()) {
            privateLinkSilenceReported = true;
            String reason = "the private link has been silent for " + silence / 1_000_000 + " ms"
                    + (link.connected ? " although its connection looks open" : "");
            LOG.log(Level.WARNING, "{0}: {1}", self, reason);
            environment.onPrivateLinkSilent(reason);
        }
    }

    private void reportLongSilence(long now) {
        if (role != PairRole.BACKUP || peerSilenceReported || peerId.isEmpty()) {
            return;
        }
        // Raw silence, not the detector's (which restarts after a freeze of this node): what matters
        // is how long the peer may have been writing without this node hearing of it.
        long lastHeard = NEVER;
        for (PathTracker path : paths) {
            lastHeard = Math.max(lastHeard, path.lastHeardNanos);
        }
        long since = lastHeard == NEVER ? now - roleChangedAtNanos : now - lastHeard;
        if (since >= outdateAfterNanos()) {
            peerSilenceReported = true;
            LOG.log(Level.WARNING, "{0}: the primary has been silent for {1} ms; this node's copy may lack writes "
                    + "it acknowledged since", self, since / 1_000_000);
            environment.onPeerSilentTooLong();
        }
    }

    /**
     * An authenticated private-link session came up.
     *
     * @param peerIncarnationFromHello the peer's incarnation, from its hello
     * @param now                      the owner's clock reading
     */
    public void onPrivateSessionUp(long peerIncarnationFromHello, long now) {
        nowNanos = now;
        PathTracker path = paths[0];
        path.connected = true;
        path.detector.restart();
        // The session's handshake is fresh (challenge and response), so its incarnation is the
        // peer's current one, whatever datagrams said (also if lower: a clock set back).
        if (peerIncarnationFromHello != 0 && peerIncarnationFromHello != peerIncarnation) {
            adoptPeerIncarnation(peerIncarnationFromHello, true, "the private link's handshake");
        }
        LOG.log(Level.INFO, "{0}: private link to {1} established", self, peerId.map(NodeId::value).orElse("?"));
        // Tell the peer at once who we are, rather than waiting for the next heartbeat slot.
        sendHeartbeat(path, now);
        publishStatus();
    }

    /**
     * The private-link session went down.
     *
     * @param reason why
     * @param now    the owner's clock reading
     */
    public void onPrivateSessionDown(String reason, long now) {
        nowNanos = now;
        PathTracker path = paths[0];
        if (path.connected) {
            LOG.log(Level.WARNING, "{0}: private link down: {1}", self, reason);
        }
        path.connected = false;
        judgePaths(now);
        publishStatus();
    }

    /**
     * A message arrived.
     *
     * @param path    {@value #PRIVATE_PATH} or a public network's name
     * @param message the message
     * @param now     the owner's clock reading
     */
    public void onMessage(String path, Message message, long now) {
        nowNanos = now;
        if (role == PairRole.STOPPED) {
            return;
        }
        PathTracker tracker = tracker(path);
        if (tracker == null) {
            LOG.log(Level.WARNING, "{0}: message on unknown path {1} ignored", self, path);
            return;
        }
        if (!(message instanceof Message.Heartbeat) && tracker.kind == PathStatus.Kind.PRIVATE) {
            // Any message on the authenticated session is proof the peer was alive when it sent
            // it. The election's safety needs this: a voter that has just heard a candidate's
            // request must not count the candidate as silent. (Public datagrams other than
            // heartbeats name no sender, so they prove nothing about who is alive.)
            tracker.lastHeardNanos = Math.max(tracker.lastHeardNanos, now);
        }
        if (message instanceof Message.Heartbeat heartbeat) {
            onHeartbeat(tracker, heartbeat, now);
        } else if (message instanceof Message.PromoteRequest request) {
            onPromoteRequest(request, now);
        } else if (message instanceof Message.PromoteReply reply) {
            onPromoteReply(reply, now);
        } else if (message instanceof Message.Handover handover) {
            onHandover(handover, now);
        } else if (message instanceof Message.RebootRequest request) {
            onRebootRequest(request);
        } else if (!(message instanceof Message.VmCatalog)) {
            // (A VM catalog is the VM supervisor's; here it only counts as hearing the peer.)
            LOG.log(Level.WARNING, "{0}: unexpected {1} on {2} ignored", self, message.type(), path);
        }
        publishStatus();
    }

    /**
     * The quorum witness answered a claim.
     *
     * @param claimedEpoch the epoch claimed
     * @param sentAtNanos  when the claim was sent (owner's clock)
     * @param answer       the answer
     * @param now          the owner's clock reading
     */
    public void onWitnessAnswer(long claimedEpoch, long sentAtNanos, WitnessAnswer answer, long now) {
        nowNanos = now;
        witnessClaimInFlight = false;
        switch (answer.outcome()) {
            case GRANTED -> {
                witnessStatus = WitnessStatus.GRANTED;
                // Counted from the send: the witness started its clock later than that, so this
                // node's lease ends first.
                witnessLeaseUntilNanos = sentAtNanos + answer.lease().toNanos() - timings.safetyMarginNanos();
                if (pendingTakeoverEpoch == claimedEpoch && role != PairRole.PRIMARY) {
                    pendingTakeoverEpoch = -1;
                    Optional<String> unsafe = unilateralTakeoverUnsafe(now);
                    if (unsafe.isEmpty()) {
                        becomePrimary(claimedEpoch, "the witness granted epoch " + claimedEpoch, now);
                    } else {
                        LOG.log(Level.INFO, "{0}: witness granted epoch {1} but takeover is no longer safe: {2}",
                                self, claimedEpoch, unsafe.get());
                    }
                }
            }
            case REFUSED -> {
                epochFloor = Math.max(epochFloor, answer.epoch());
                witnessStatus = WitnessStatus.REFUSED;
                witnessRefusedAtNanos = now;
                witnessLeaseUntilNanos = NEVER;
                pendingTakeoverEpoch = -1;
                if (role == PairRole.PRIMARY && answer.epoch() > epoch) {
                    transition(PairRole.ISOLATED, "the witness records epoch " + answer.epoch() + " held by "
                            + answer.holder().map(NodeId::value).orElse("?"));
                }
            }
            case UNREACHABLE -> {
                witnessStatus = WitnessStatus.UNREACHABLE;
                pendingTakeoverEpoch = -1;
            }
        }
        updateLease(now);
        publishStatus();
    }

    /**
     * Every VM has moved to the peer: hand the next epoch over.
     *
     * @param now the owner's clock reading
     */
    public void onReadyToHandOver(long now) {
        nowNanos = now;
        if (!handoverInProgress) {
            return;
        }
        handoverInProgress = false;
        if (role != PairRole.PRIMARY || peerId.isEmpty()) {
            return;
        }
        NodeId peer = peerId.get();
        long next = epoch + 1;
        if (!persist(next, Optional.of(peer))) {
            return;
        }
        transition(PairRole.BACKUP, "handed epoch " + next + " over to " + peer);
        environment.sendPrivate(new Message.Handover(next, peer, peerIncarnation, highestSeqFromPeer));
        environment.audit("handover", "epoch " + next + " to " + peer, "sent");
        sendHeartbeats(now);
        publishStatus();
    }

    /**
     * Moving the VMs to the peer failed; this node stays primary.
     *
     * @param reason why
     * @param now    the owner's clock reading
     */
    public void onGracefulFailoverFailed(String reason, long now) {
        nowNanos = now;
        handoverInProgress = false;
        environment.audit("graceful-failover", "to " + peerId.map(NodeId::value).orElse("?"), "failed: " + reason);
    }

    /**
     * Forgets that the peer was declared down (an operator repaired it).
     */
    public void clearPeerDeclaredDown() {
        if (peerDeclaredDown) {
            peerDeclaredDown = false;
            peerIncidents.clear();
            environment.audit("declare-backup-down", "cleared", "done");
            publishPeerChanged("the peer is no longer declared down");
        }
    }

    /**
     * Stops the controller for good.
     *
     * @param reason why
     * @param now    the owner's clock reading
     */
    public void stop(String reason, long now) {
        nowNanos = now;
        if (role != PairRole.STOPPED) {
            transition(PairRole.STOPPED, reason);
        }
        // Writes waiting on a fence are failed by the lease check that follows it.
        releaseDegradedFences(now, true);
        publishStatus();
    }

    // ------------------------------------------------------------------------------------------
    // Heartbeats and paths

    private PathTracker tracker(String name) {
        for (PathTracker path : paths) {
            if (path.name.equals(name)) {
                return path;
            }
        }
        return null;
    }

    private void onHeartbeat(PathTracker path, Message.Heartbeat heartbeat, long now) {
        if (peerId.isEmpty() || !heartbeat.sender().equals(peerId.get())) {
            LOG.log(Level.WARNING, "{0}: heartbeat from unexpected node {1} on {2} ignored", self,
                    heartbeat.sender(), path.name);
            return;
        }
        long claimed = heartbeat.incarnation();
        if (claimed != peerIncarnation) {
            if (retiredPeerIncarnations.contains(claimed) || (peerIncarnation != 0 && claimed < peerIncarnation)) {
                // An earlier run of the peer: a replayed datagram, or one delayed past a restart.
                return;
            }
            if (peerIncarnation != 0 && heardCurrentIncarnationNanos != NEVER
                    && now - heardCurrentIncarnationNanos < timings.detectionMinimumNanos()) {
                // A later run while the current one still speaks: a restart is proven only by the
                // current run's silence (or by the private link's handshake), so a datagram cannot
                // retire a live peer. Meanwhile it shows the path works, and nothing more.
                path.heard(now);
                return;
            }
            adoptPeerIncarnation(claimed, path.kind == PathStatus.Kind.PRIVATE, "a heartbeat on " + path.name);
        }
        // Sequence numbers are shared by all paths, and paths overtake one another: a heartbeat
        // is a duplicate only if its own path has seen a later one. It counts as liveness on
        // its path either way; the peer's state advances only with the newest heartbeat overall.
        if (heartbeat.seq() <= path.highestSeq) {
            return;
        }
        path.highestSeq = heartbeat.seq();
        path.heard(now);
        heardCurrentIncarnationNanos = now;
        path.peerLocalUp = heartbeat.publicNetworksUp();
        peerSilenceReported = false;
        if (heartbeat.echoIncarnation() == incarnation && heartbeat.echoSeq() > 0) {
            peerEchoedSeq = Math.max(peerEchoedSeq, heartbeat.echoSeq());
            long sentAt = sendTimeOf(heartbeat.echoSeq());
            if (sentAt != NEVER && sentAt > peerAckedSendNanos) {
                peerAckedSendNanos = sentAt;
            }
        }
        if (heartbeat.seq() <= highestSeqFromPeer) {
            if (path.kind == PathStatus.Kind.PRIVATE || !path.alive) {
                judgePaths(now);
            }
            return;
        }
        highestSeqFromPeer = heartbeat.seq();
        Message.Heartbeat previous = peerHeartbeat;
        peerHeartbeat = heartbeat;
        if (role != PairRole.PRIMARY) {
            environment.onPeerWritesWithoutThisNode(heartbeat.degraded());
        }
        releaseDegradedFences(now, false);
        if (previous == null || previous.role() != heartbeat.role() || previous.epoch() != heartbeat.epoch()) {
            publishPeerChanged("the peer is " + heartbeat.role() + " in epoch " + heartbeat.epoch());
        }
        adoptEpoch(heartbeat);
        if (path.kind == PathStatus.Kind.PRIVATE || !path.alive) {
            judgePaths(now);
        }
    }

    private void adoptEpoch(Message.Heartbeat heartbeat) {
        Optional<NodeId> theirPrimary = heartbeat.epochPrimary();
        if (heartbeat.epoch() > epoch && theirPrimary.isPresent()) {
            NodeId primary = theirPrimary.get();
            if (!persist(heartbeat.epoch(), theirPrimary)) {
                return;
            }
            pendingPromote = null;
            if (primary.equals(self)) {
                if (role != PairRole.PRIMARY && fresh(heartbeat.echoIncarnation(), heartbeat.echoSeq())) {
                    takeoverAtNanos = nowNanos;
                    primaryAnchorNanos = sendTimeOf(heartbeat.echoSeq());
                    transition(PairRole.PRIMARY, "the peer handed epoch " + epoch + " over to this node");
                }
            } else if (role == PairRole.PRIMARY) {
                transition(PairRole.ISOLATED, "the peer is primary in the later epoch " + epoch);
                transition(PairRole.BACKUP, "joining primary " + primary + " in epoch " + epoch);
            } else if (role != PairRole.BACKUP) {
                transition(PairRole.BACKUP, "joining primary " + primary + " in epoch " + epoch);
            }
            return;
        }
        if (heartbeat.epoch() != epoch || theirPrimary.isEmpty()) {
            return;
        }
        if (epochPrimary.isPresent() && !epochPrimary.equals(theirPrimary)) {
            invariantViolation("epoch " + epoch + " has two primaries: " + epochPrimary.get() + " here, "
                    + theirPrimary.get() + " at the peer");
            return;
        }
        if (epochPrimary.isEmpty()) {
            persist(epoch, theirPrimary);
        }
        if (theirPrimary.get().equals(heartbeat.sender()) && heartbeat.role() == PairRole.PRIMARY
                && (role == PairRole.UNDECIDED || role == PairRole.ISOLATED)) {
            transition(PairRole.BACKUP, "joining primary " + heartbeat.sender() + " in epoch " + epoch);
        } else if (theirPrimary.get().equals(self) && role != PairRole.PRIMARY && role != PairRole.STOPPED
                && heartbeat.role() != PairRole.PRIMARY && fresh(heartbeat.echoIncarnation(), heartbeat.echoSeq())
                && epochFloor <= epoch) {
            // A handover whose HANDOVER message was lost, or arrived stale: the peer still names
            // this node primary of the current epoch, and has heard it recently. Not when the
            // witness records a later epoch than this one (it refused this node's renewal): this
            // epoch is over, and the pair must elect a primary for one above the witness's, or
            // the node would step down at every renewal and take the role back at every heartbeat
            // (seed 1013417 of the witness property).
            takeoverAtNanos = nowNanos;
            primaryAnchorNanos = sendTimeOf(heartbeat.echoSeq());
            transition(PairRole.PRIMARY, "the peer handed epoch " + epoch + " over to this node");
        }
    }

    private void invariantViolation(String what) {
        invariantViolations.increment();
        LOG.log(Level.ERROR, "{0}: SAFETY INVARIANT BROKEN: {1}", self, what);
        environment.audit("invariant-violation", what, "stopped serving");
        if (role == PairRole.PRIMARY) {
            transition(PairRole.ISOLATED, what);
        }
    }

    private void judgePaths(long now) {
        for (PathTracker path : paths) {
            boolean up = localUp(path);
            if (up && !path.wasLocallyUp) {
                // Nothing could be heard on this path while this node's end of it was down: its
                // silence counts only from now.
                path.countSilenceFrom = Math.max(path.countSilenceFrom, now);
            }
            if (!up && path.wasLocallyUp) {
                // What went out on it lately may have been dropped before the failure was noticed.
                path.wentDownAtNanos = now;
            }
            path.wasLocallyUp = up;
            boolean alive = path.judge(now, settings.phiThreshold());
            if (alive != path.alive) {
                path.alive = alive;
                environment.publish(new PathChanged(wallClock.instant(), self, pathStatus(path, now)));
                LOG.log(alive ? Level.INFO : Level.WARNING, "{0}: peer {1} on path {2}", self,
                        alive ? "heard again" : "no longer heard", path.name);
            }
        }
        boolean reachable = anyPathAlive();
        if (reachable != peerWasReachable) {
            peerWasReachable = reachable;
            publishPeerChanged(reachable ? "the peer is heard again" : "the peer is silent on every path");
        }
    }

    private boolean anyPathAlive() {
        for (PathTracker path : paths) {
            if (path.alive) {
                return true;
            }
        }
        return false;
    }

    private void sendHeartbeats(long now) {
        lastHeartbeatSentNanos = now;
        if (peerId.isEmpty()) {
            return;
        }
        for (PathTracker path : paths) {
            sendHeartbeat(path, now);
        }
    }

    private void sendHeartbeat(PathTracker path, long now) {
        if (peerId.isEmpty()) {
            return;
        }
        Message.Heartbeat heartbeat = heartbeat(now);
        boolean sent = path.kind == PathStatus.Kind.PRIVATE ? environment.sendPrivate(heartbeat)
                : environment.sendPublic(path.name, heartbeat);
        if (sent) {
            path.lastSentNanos = now;
            if (path.kind == PathStatus.Kind.PUBLIC && localUp(path)) {
                path.recordSend(now);
            }
        }
    }

    /**
     * How old a heartbeat sent on a public network must be before it counts as surely received:
     * the delivery allowance (half the safety margin), and at least the time in which this node
     * learns that its own NIC has failed (one heartbeat interval). A NIC that fails drops what is
     * sent through it until the failure is reported, and the send still looks successful; a
     * heartbeat counts only once that report would have come, and never if it did.
     */
    private long sendCountsAfterNanos() {
        return Math.max(timings.safetyMarginNanos() / 2, timings.heartbeatIntervalNanos());
    }

    /**
     * The newest moment this node knows its peer heard it: the newest heartbeat the peer echoed,
     * the newest one it surely received by the timing assumptions (sent on a public network that
     * was up, long enough ago, and not reported down since), or what proved the peer heard this
     * node when it became primary. Heartbeats on the private link count only when echoed: a cut
     * cable goes unnoticed by TCP for long, and the sends into it look successful.
     */
    private long newestSendSurelyReceived(long now) {
        long newest = Math.max(peerAckedSendNanos, primaryAnchorNanos);
        long countable = now - sendCountsAfterNanos();
        for (PathTracker path : paths) {
            if (path.kind == PathStatus.Kind.PUBLIC) {
                long sentAt = path.newestSendAtOrBefore(countable);
                if (sentAt != NEVER && sentAt > path.wentDownAtNanos) {
                    newest = Math.max(newest, sentAt);
                }
            }
        }
        return newest;
    }

    private Message.Heartbeat heartbeat(long now) {
        long next = ++seq;
        int slot = (int) (next % SEND_LOG_SIZE);
        sendLogSeq[slot] = next;
        sendLogNanos[slot] = now;
        Map<String, Boolean> networks = new LinkedHashMap<>();
        for (PathTracker path : paths) {
            if (path.kind == PathStatus.Kind.PUBLIC) {
                networks.put(path.name, localUp(path));
            }
        }
        List<Fault> active = faults.score().faults();
        if (active.size() > Message.Heartbeat.MAX_FAULTS) {
            active = active.subList(0, Message.Heartbeat.MAX_FAULTS);
        }
        boolean degraded = role == PairRole.PRIMARY && environment.writesWithoutPeer();
        if (!degraded) {
            degradedFromSeq = 0;
        } else if (degradedFromSeq == 0) {
            degradedFromSeq = next;
        }
        return new Message.Heartbeat(self, incarnation, next, peerIncarnation, highestSeqFromPeer, epoch,
                epochPrimary, role, environment.dataState(), maintenance, peerDeclaredDown, degraded, networks, active);
    }

    /**
     * Tells whether a message from the peer proves it heard this node recently enough that it
     * cannot have taken over since: it echoes a heartbeat this node sent less than the isolation
     * deadline ago. The peer's takeover clock restarted no earlier than that send.
     */
    private boolean fresh(long echoIncarnation, long echoSeq) {
        if (echoIncarnation != incarnation || echoSeq <= 0) {
            return false;
        }
        long sentAt = sendTimeOf(echoSeq);
        return sentAt != NEVER && nowNanos - sentAt < timings.isolationDeadlineNanos();
    }

    private long sendTimeOf(long echoedSeq) {
        int slot = (int) (echoedSeq % SEND_LOG_SIZE);
        return sendLogSeq[slot] == echoedSeq ? sendLogNanos[slot] : NEVER;
    }

    private boolean localUp(PathTracker path) {
        if (path.kind == PathStatus.Kind.PRIVATE) {
            return path.connected;
        }
        return !faults.score().hasFault(Component.PUBLIC_NETWORK, path.name, Severity.CRITICAL);
    }

    // ------------------------------------------------------------------------------------------
    // Decisions

    private void decide(long now, long pause) {
        PairSnapshot snapshot = snapshot(now, pause);
        FailoverDecision decision;
        try {
            decision = policy.decide(snapshot);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, self + ": the failover policy failed; staying put", e);
            decision = FailoverDecision.stay("the policy failed: " + e);
        }
        boolean changed = !decision.equals(lastDecision);
        if (changed && decision.action() == FailoverDecision.Action.STAY) {
            LOG.log(Level.DEBUG, "{0}: {1}", self, decision);
        }
        lastDecision = decision;
        if (decision.action() != FailoverDecision.Action.STAY) {
            String outcome = execute(decision, now);
            if (changed || !outcome.startsWith("refused")) {
                LOG.log(Level.INFO, "{0}: decision {1} -> {2}", self, decision, outcome);
            }
            if (!outcome.equals("pending")) {
                environment.publish(new DecisionTaken(wallClock.instant(), self, decision, outcome));
            }
        }
    }

    private String execute(FailoverDecision decision, long now) {
        return switch (decision.action()) {
            case STAY -> "done";
            case SELF_ISOLATE -> {
                if (role == PairRole.PRIMARY) {
                    transition(PairRole.ISOLATED, decision.reason());
                    yield "done";
                }
                yield "refused: not primary";
            }
            case TAKE_OVER -> takeOver(decision.reason(), now);
            case MIGRATE_TO_PEER -> migrateToPeer(decision.reason());
            case REBOOT_BACKUP -> rebootBackup(decision.reason(), now);
            case DECLARE_BACKUP_DOWN -> {
                if (peerDeclaredDown) {
                    yield "refused: already declared down";
                }
                peerDeclaredDown = true;
                environment.audit("declare-backup-down", decision.reason(), "done");
                publishPeerChanged("the peer is declared down: " + decision.reason());
                yield "done";
            }
            case RESTART_VM -> {
                String vm = decision.vm().orElseThrow();
                environment.restartVm(vm);
                environment.audit("restart-vm", vm + ": " + decision.reason(), "requested");
                yield "requested";
            }
        };
    }

    private String takeOver(String reason, long now) {
        if (role == PairRole.PRIMARY || role == PairRole.STOPPED) {
            return "refused: role is " + role;
        }
        if (peerId.isEmpty()) {
            becomePrimary(nextEpoch(epoch, 0), "standalone node: " + reason, now);
            return "done";
        }
        boolean consentPossible = paths[0].alive && peerHeartbeat != null && peerHeartbeat.role() != PairRole.PRIMARY;
        if (consentPossible) {
            if (pendingPromote != null) {
                return "pending";
            }
            long next = Math.max(Math.max(epoch, peerHeartbeat.epoch()), epochFloor) + 1;
            pendingPromote = new Pending(next, now);
            environment.sendPrivate(new Message.PromoteRequest(next, self));
            environment.audit("promote-request", "epoch " + next + ": " + reason, "sent");
            return "pending";
        }
        Optional<String> unsafe = unilateralTakeoverUnsafe(now);
        if (unsafe.isPresent()) {
            return "refused: " + unsafe.get();
        }
        long known = Math.max(Math.max(epoch, peerHeartbeat == null ? 0 : peerHeartbeat.epoch()), epochFloor);
        long next = nextEpoch(known, settings.unilateralParity());
        if (settings.witnessConfigured()) {
            if (witnessClaimInFlight) {
                return "pending";
            }
            pendingTakeoverEpoch = next;
            claimWitness(next, now);
            return "pending";
        }
        becomePrimary(next, reason, now);
        return "done";
    }

    /**
     * The engine's own check on a takeover without the peer's promise, whatever the policy said.
     */
    private Optional<String> unilateralTakeoverUnsafe(long now) {
        if (anyPathAlive()) {
            return Optional.of("the peer is still heard");
        }
        long silence = peerSilence(now);
        if (silence < timings.detectionMinimumNanos()) {
            return Optional.of("the peer has been silent for only " + silence / 1_000_000 + " ms");
        }
        if (!settings.witnessConfigured() && anyPublicNetworkDown()) {
            return Optional.of("one of this node's public networks is down, and the primary may still serve on it");
        }
        return Optional.empty();
    }

    /** The smallest epoch above {@code known} with the given parity (any parity if negative). */
    private static long nextEpoch(long known, int parity) {
        long next = known + 1;
        if (parity >= 0 && Math.floorMod(next, 2) != parity) {
            next++;
        }
        return next;
    }

    /**
     * @param anchorNanos when the peer surely heard this node last, as far as this takeover
     *                    proves (the promise request it answered; now, when the peer is silent)
     */
    private void becomePrimary(long newEpoch, String reason, long anchorNanos) {
        if (!persist(newEpoch, Optional.of(self))) {
            return;
        }
        pendingPromote = null;
        takeoverAtNanos = nowNanos;
        primaryAnchorNanos = anchorNanos;
        transition(PairRole.PRIMARY, reason);
        environment.audit("takeover", "epoch " + newEpoch + ": " + reason, "primary");
        sendHeartbeats(nowNanos);
        updateLease(nowNanos);
    }

    private String migrateToPeer(String reason) {
        if (role != PairRole.PRIMARY || peerId.isEmpty()) {
            return "refused: not primary";
        }
        if (!paths[0].alive) {
            return "refused: the private link is down";
        }
        if (handoverInProgress) {
            return "pending";
        }
        handoverInProgress = true;
        environment.audit("graceful-failover", "to " + peerId.get() + ": " + reason, "started");
        environment.beginGracefulFailover(peerId.get());
        return "started";
    }

    private String rebootBackup(String reason, long now) {
        if (role != PairRole.PRIMARY || peerId.isEmpty()) {
            return "refused: not primary";
        }
        lastRebootRequestNanos = now;
        if (!incidentOpen) {
            // One incident per failure: asking again while the same outage lasts is not a new one.
            // It closes when the peer is seen to have restarted.
            incidentOpen = true;
            peerIncidents.addFirst(now);
            while (peerIncidents.size() > 64) {
                peerIncidents.removeLast();
            }
        }
        Message.RebootRequest request = new Message.RebootRequest(epoch, ++rebootRequestIds, peerIncarnation, reason);
        List<String> sentOn = new ArrayList<>();
        for (PathTracker path : paths) {
            boolean sent = path.kind == PathStatus.Kind.PRIVATE ? environment.sendPrivate(request)
                    : environment.sendPublic(path.name, request);
            if (sent && path.alive) {
                sentOn.add(path.name);
            }
        }
        String outcome;
        if (!sentOn.isEmpty()) {
            outcome = "request " + request.requestId() + " sent on " + String.join(", ", sentOn);
        } else if (environment.fencePeer(peerId.get())) {
            outcome = "the backup is unreachable: power-cycling it through the fencing device";
        } else {
            outcome = "the backup is unreachable and there is no fencing device: waiting for it to return";
        }
        environment.audit("reboot-backup", reason, outcome);
        return outcome;
    }

    /**
     * The peer runs a new incarnation: its earlier one is retired (its datagrams are dropped from
     * now on) and the sequence numbers start again.
     */
    private void adoptPeerIncarnation(long adopted, boolean privatePath, String how) {
        boolean restarted = peerIncarnation != 0;
        if (restarted) {
            retiredPeerIncarnations.addFirst(peerIncarnation);
            while (retiredPeerIncarnations.size() > 8) {
                retiredPeerIncarnations.removeLast();
            }
        }
        retiredPeerIncarnations.remove(adopted);
        peerIncarnation = adopted;
        heardCurrentIncarnationNanos = NEVER;
        highestSeqFromPeer = 0;
        for (PathTracker each : paths) {
            each.highestSeq = 0;
        }
        if (restarted) {
            LOG.log(Level.INFO, "{0}: peer {1} restarted (new incarnation, from {2})", self,
                    peerId.map(NodeId::value).orElse("?"), how);
            incidentOpen = false;
            if (peerDeclaredDown && privatePath) {
                peerDeclaredDown = false;
                environment.audit("declare-backup-down", "cleared: the peer restarted and the private link works",
                        "done");
            }
        }
    }

    private void onRebootRequest(Message.RebootRequest request) {
        boolean fromMyPrimary = epochPrimary.equals(peerId) && request.epoch() == epoch;
        if (role != PairRole.BACKUP || !fromMyPrimary || request.target() != incarnation) {
            // A request for an earlier run of this node (a replay, or one delayed past its reboot)
            // is not for this one.
            LOG.log(Level.INFO, "{0}: reboot request {1} ignored (role {2}, epoch {3}, request epoch {4}, {5})", self,
                    request.requestId(), role, epoch, request.epoch(), request.target() == incarnation
                            ? "for this run" : "for another run of this node");
            return;
        }
        if (request.requestId() == lastRebootHandled) {
            return;
        }
        lastRebootHandled = request.requestId();
        environment.audit("reboot", "requested by primary " + epochPrimary.get() + ": " + request.reason(), "rebooting");
        transition(PairRole.UNDECIDED, "rebooting at the primary's request: " + request.reason());
        environment.rebootSelf(request.reason());
    }

    private void onPromoteRequest(Message.PromoteRequest request, long now) {
        String refusal = null;
        if (peerId.isEmpty() || !request.candidate().equals(peerId.get())) {
            refusal = "the candidate is not this node's peer";
        } else if (role == PairRole.PRIMARY) {
            refusal = "this node is primary of epoch " + epoch;
        } else if (request.epoch() <= epoch) {
            refusal = "epoch " + request.epoch() + " is not after this node's epoch " + epoch;
        } else if (request.epoch() <= epochFloor) {
            refusal = "epoch " + request.epoch() + " is not after epoch " + epochFloor + ", claimed at the witness";
        } else if (pendingPromote != null && self.compareTo(request.candidate()) < 0) {
            refusal = "this node is a candidate too, and the smaller id wins";
        }
        long floor = Math.max(epoch, epochFloor) + 1;
        if (refusal != null) {
            environment.sendPrivate(new Message.PromoteReply(request.epoch(), false, floor, refusal));
            environment.audit("promote-vote", "epoch " + request.epoch() + " for " + request.candidate(),
                    "refused: " + refusal);
            return;
        }
        pendingPromote = null;
        if (!persist(request.epoch(), Optional.of(request.candidate()))) {
            environment.sendPrivate(new Message.PromoteReply(request.epoch(), false, floor,
                    "could not persist the promise"));
            return;
        }
        if (role != PairRole.BACKUP) {
            transition(PairRole.BACKUP, "promised epoch " + epoch + " to " + request.candidate());
        }
        environment.sendPrivate(new Message.PromoteReply(request.epoch(), true, floor, ""));
        environment.audit("promote-vote", "epoch " + request.epoch() + " for " + request.candidate(), "granted");
    }

    private void onPromoteReply(Message.PromoteReply reply, long now) {
        if (pendingPromote == null || pendingPromote.epoch() != reply.epoch()) {
            return;
        }
        long sentAt = pendingPromote.sentAtNanos();
        pendingPromote = null;
        if (reply.granted() && now - sentAt >= timings.isolationDeadlineNanos()) {
            // The voter's silence clock restarted when it heard the request; after this long it
            // may already have given up on this node and taken over.
            LOG.log(Level.WARNING, "{0}: promise of epoch {1} arrived {2} ms after the request; too late to act on",
                    self, reply.epoch(), (now - sentAt) / 1_000_000);
            return;
        }
        if (!reply.granted()) {
            epochFloor = Math.max(epochFloor, reply.floor() - 1);
            LOG.log(Level.INFO, "{0}: the peer refused epoch {1}: {2}", self, reply.epoch(), reply.reason());
            environment.audit("promote-request", "epoch " + reply.epoch(), "refused: " + reply.reason());
            return;
        }
        if (role == PairRole.PRIMARY || reply.epoch() <= epoch) {
            return;
        }
        // The voter heard the request, sent at sentAt, and answered it: an acknowledgement of this
        // node as good as an echoed heartbeat (its silence clock restarted no earlier).
        peerAckedSendNanos = Math.max(peerAckedSendNanos, sentAt);
        becomePrimary(reply.epoch(), "elected: the peer promised epoch " + reply.epoch(), sentAt);
    }

    private void onHandover(Message.Handover handover, long now) {
        if (!handover.newPrimary().equals(self) || handover.epoch() <= epoch) {
            return;
        }
        if (!persist(handover.epoch(), Optional.of(self))) {
            return;
        }
        if (!fresh(handover.echoIncarnation(), handover.echoSeq())) {
            // Sent before a freeze of this node, perhaps: the peer may have taken the role back
            // since. Its heartbeats will offer it again, with a fresh echo, if it still stands.
            LOG.log(Level.WARNING, "{0}: handover of epoch {1} is stale; waiting for the peer to confirm it", self,
                    handover.epoch());
            return;
        }
        takeoverAtNanos = now;
        primaryAnchorNanos = sendTimeOf(handover.echoSeq());
        transition(PairRole.PRIMARY, "the peer handed epoch " + handover.epoch() + " over");
        environment.audit("handover", "received epoch " + handover.epoch(), "primary");
        updateLease(now);
        sendHeartbeats(now);
    }

    private void expirePending(long now) {
        if (pendingPromote != null && now - pendingPromote.sentAtNanos() >= timings.isolationDeadlineNanos()) {
            LOG.log(Level.INFO, "{0}: no answer to promote request for epoch {1}", self, pendingPromote.epoch());
            pendingPromote = null;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Witness and lease

    private void claimWitness(long claimEpoch, long now) {
        epochFloor = Math.max(epochFloor, claimEpoch);
        witnessClaimInFlight = true;
        lastWitnessClaimNanos = now;
        environment.claimWitness(claimEpoch, Duration.ofNanos(timings.detectionMinimumNanos()));
    }

    /** The longest lease any claim of the pair asks the witness for, plus the margin for its clock. */
    private long witnessLeaseNanos() {
        return timings.detectionMinimumNanos() + timings.safetyMarginNanos();
    }

    private void renewWitnessIfQuiet(long now) {
        if (!settings.witnessConfigured() || role != PairRole.PRIMARY || witnessClaimInFlight) {
            return;
        }
        boolean quiet = peerAckedSendNanos == NEVER
                || now - peerAckedSendNanos >= 2 * timings.heartbeatIntervalNanos();
        boolean due = lastWitnessClaimNanos == NEVER || now - lastWitnessClaimNanos >= timings.heartbeatIntervalNanos();
        if (quiet && due) {
            claimWitness(epoch, now);
        }
    }

    private void updateLease(long now) {
        if (role != PairRole.PRIMARY) {
            leaseUntilNanos = NEVER;
            return;
        }
        long deadline = timings.isolationDeadlineNanos();
        // The peer's takeover clock restarts when it hears a heartbeat; the newest heartbeat it has
        // surely heard bounds how long this node may serve if it froze, or its heartbeats stopped.
        long received = newestSendSurelyReceived(now);
        long pauseBound;
        if (peerId.isEmpty()) {
            // Nobody can take over from a standalone node.
            pauseBound = Long.MAX_VALUE;
        } else {
            pauseBound = received == NEVER ? NEVER : received + deadline;
        }
        long confirmed = peerAckedSendNanos == NEVER ? NEVER : peerAckedSendNanos + deadline;
        long witnessBound = witnessStatus == WitnessStatus.GRANTED ? witnessLeaseUntilNanos : NEVER;
        long networkBound;
        if (peerId.isEmpty()) {
            networkBound = Long.MAX_VALUE;
        } else if (!settings.witnessConfigured() && !allPublicNetworksDown()) {
            networkBound = Long.MAX_VALUE;
        } else {
            networkBound = NEVER;
        }
        leaseUntilNanos = Math.min(pauseBound, Math.max(confirmed, Math.max(witnessBound, networkBound)));
    }

    private String leaseExpiryReason(long now) {
        long received = newestSendSurelyReceived(now);
        if (received == NEVER || now - received >= timings.isolationDeadlineNanos()) {
            return "the serving lease ran out: no heartbeat this node sent in the last "
                    + timings.isolationDeadlineNanos() / 1_000_000 + " ms has surely reached the peer (the duty cycle"
                    + " was late by " + pauseMonitor.lastGapNanos() / 1_000_000 + " ms; heartbeats on a network that"
                    + " went down meanwhile do not count), so the peer may have taken over";
        }
        return "the serving lease ran out: the peer has not confirmed this node for "
                + (peerAckedSendNanos == NEVER ? "ever" : (now - peerAckedSendNanos) / 1_000_000 + " ms")
                + (settings.witnessConfigured() ? " and the witness gave no lease" : " and every public network is down");
    }

    private boolean anyPublicNetworkDown() {
        for (PathTracker path : paths) {
            if (path.kind == PathStatus.Kind.PUBLIC && !localUp(path)) {
                return true;
            }
        }
        return false;
    }

    private boolean allPublicNetworksDown() {
        boolean any = false;
        for (PathTracker path : paths) {
            if (path.kind == PathStatus.Kind.PUBLIC) {
                any = true;
                if (localUp(path)) {
                    return false;
                }
            }
        }
        return any;
    }

    // ------------------------------------------------------------------------------------------
    // State changes

    private boolean persist(long newEpoch, Optional<NodeId> newPrimary) {
        if (newEpoch < epoch || (newEpoch == epoch && epochPrimary.isPresent() && !epochPrimary.equals(newPrimary))) {
            throw new IllegalStateException(self + ": refusing to move from epoch " + epoch + " (" + epochPrimary
                    + ") to " + newEpoch + " (" + newPrimary + ")");
        }
        try {
            environment.persist(new PersistedPairState(self, newEpoch, newPrimary));
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, self + ": could not persist epoch " + newEpoch + "; not acting on it", e);
            faults.raise(Fault.of(Component.DISK, "state", Severity.CRITICAL,
                    "cannot write the pair state: " + e.getMessage()));
            return false;
        }
        epoch = newEpoch;
        epochPrimary = newPrimary;
        return true;
    }

    private void transition(PairRole next, String reason) {
        PairRole previous = role;
        if (previous == next) {
            return;
        }
        if (!RoleStateMachine.legal(previous, next)) {
            throw new IllegalStateException(self + ": illegal role change " + previous + " -> " + next + " (" + reason + ")");
        }
        if (next == PairRole.PRIMARY && !epochPrimary.equals(Optional.of(self))) {
            throw new IllegalStateException(self + ": becoming primary in epoch " + epoch + " which belongs to "
                    + epochPrimary);
        }
        role = next;
        roleChangedAtNanos = nowNanos;
        updateLease(nowNanos);
        if (next != PairRole.PRIMARY && previous == PairRole.PRIMARY) {
            handoverInProgress = false;
        }
        LOG.log(next == PairRole.ISOLATED ? Level.WARNING : Level.INFO, "{0}: {1} -> {2} in epoch {3}: {4}", self,
                previous, next, epoch, reason);
        meters.counter("avance.pair.role.changes", "node", self.value(), "to",
                next.name().toLowerCase(Locale.ROOT)).increment();
        environment.audit("role", previous + " -> " + next + " in epoch " + epoch + ": " + reason, "done");
        environment.publish(new RoleChanged(wallClock.instant(), self, previous, next, epoch, reason));
        environment.onRoleChanged(previous, next, epoch);
        publishStatus();
    }

    private void publishPeerChanged(String detail) {
        if (peerId.isEmpty()) {
            return;
        }
        PairRole peerRole = peerHeartbeat == null ? PairRole.UNDECIDED : peerHeartbeat.role();
        environment.publish(new PeerChanged(wallClock.instant(), self, peerId.get(), anyPathAlive(), peerRole,
                peerDeclaredDown, detail));
    }

    // ------------------------------------------------------------------------------------------
    // Snapshots

    private long peerSilence(long now) {
        long silence = Long.MAX_VALUE;
        for (PathTracker path : paths) {
            silence = Math.min(silence, path.silence(now));
        }
        return silence;
    }

    private PathStatus pathStatus(PathTracker path, long now) {
        boolean peerLocalUp = path.kind == PathStatus.Kind.PRIVATE ? path.connected
                : path.peerLocalUp.getOrDefault(path.name, false);
        return new PathStatus(path.name, path.kind, localUp(path), peerLocalUp, path.alive, path.silence(now));
    }

    private List<PathStatus> pathStatuses(long now) {
        List<PathStatus> list = new ArrayList<>(paths.length);
        for (PathTracker path : paths) {
            list.add(pathStatus(path, now));
        }
        return list;
    }

    private NodeView selfView() {
        return new NodeView(self, role, epoch, epochPrimary, faults.score(), environment.dataState(), maintenance);
    }

    private Optional<NodeView> peerView() {
        if (peerHeartbeat == null) {
            return Optional.empty();
        }
        Message.Heartbeat h = peerHeartbeat;
        return Optional.of(new NodeView(h.sender(), h.role(), h.epoch(), h.epochPrimary(), HealthScore.of(h.faults()),
                h.data(), h.maintenance()));
    }

    PairSnapshot snapshot(long now, long pause) {
        List<Long> incidentAges = new ArrayList<>(peerIncidents.size());
        for (long at : peerIncidents) {
            incidentAges.add(now - at);
        }
        long ackAge = peerAckedSendNanos == NEVER ? Long.MAX_VALUE : now - peerAckedSendNanos;
        long sinceReboot = lastRebootRequestNanos == NEVER ? Long.MAX_VALUE : now - lastRebootRequestNanos;
        WitnessStatus witness = witnessStatus;
        if (witness == WitnessStatus.GRANTED && now >= witnessLeaseUntilNanos) {
            witness = WitnessStatus.NOT_ASKED;
        }
        if (witness == WitnessStatus.REFUSED && now - witnessRefusedAtNanos >= witnessLeaseNanos()) {
            // A refusal answers for the holder's lease at that moment; once any lease then held
            // may have run out, the question is open again. Kept for ever, it would stop this
            // node from ever claiming again (if the holder died) or from being elected by its
            // peer's consent (seed 1013417 of the witness property).
            witness = WitnessStatus.NOT_ASKED;
        }
        return new PairSnapshot(selfView(), peerView(), pathStatuses(now), peerSilence(now), ackAge, pause,
                now - roleChangedAtNanos, incidentAges, sinceReboot, peerDeclaredDown, peerFenced, witness,
                environment.vms(), timings);
    }

    private void publishStatus() {
        long now = nowNanos;
        long lease = role == PairRole.PRIMARY ? Math.max(0, leaseUntilNanos == Long.MAX_VALUE ? Long.MAX_VALUE
                : leaseUntilNanos - now) : 0;
        status = new PairStatus(self, incarnation, role, epoch, epochPrimary, faults.score(), peerView(),
                pathStatuses(now), peerSilence(now), lease, peerDeclaredDown, lastDecision, takeoverAtNanos);
    }

    /**
     * One path to the peer: its failure detector and what was last heard on it.
     */
    private static final class PathTracker {
        final String name;
        final PathStatus.Kind kind;
        final PhiAccrualDetector detector;
        final PairTimings timings;
        long lastHeardNanos = NEVER;
        long lastSentNanos = NEVER;
        long highestSeq;
        /** Silence counts from here at the earliest: this node's start, or its end coming up. */
        long countSilenceFrom;
        boolean wasLocallyUp = true;
        /** When this node last saw its own end of the path go down. */
        long wentDownAtNanos = NEVER;
        /** When heartbeats went out on it while it was up, newest last (public paths only). */
        final Deque<Long> sends = new ArrayDeque<>();
        boolean connected;
        boolean alive;
        Map<String, Boolean> peerLocalUp = Map.of();

        PathTracker(String name, PathStatus.Kind kind, PairTimings timings, long startedAtNanos) {
            this.name = name;
            this.kind = kind;
            this.timings = timings;
            this.countSilenceFrom = startedAtNanos;
            long interval = timings.heartbeatIntervalNanos();
            this.detector = new PhiAccrualDetector(100, interval, interval / 2, 0);
        }

        void heard(long now) {
            lastHeardNanos = now;
            detector.heartbeat(now);
        }

        void recordSend(long now) {
            if (sends.isEmpty() || sends.peekLast() != now) {
                sends.addLast(now);
            }
            // Enough to reach back past the counting delay; a few seconds' worth is plenty.
            while (sends.size() > 64) {
                sends.removeFirst();
            }
        }

        long newestSendAtOrBefore(long limit) {
            for (java.util.Iterator<Long> it = sends.descendingIterator(); it.hasNext(); ) {
                long sentAt = it.next();
                if (sentAt <= limit) {
                    return sentAt;
                }
            }
            return NEVER;
        }

        /**
         * How long the peer has been silent on this path, counting only time in which it could
         * have been heard: not before this node started, nor while its end of the path was down.
         */
        long silence(long now) {
            return Math.max(0, now - Math.max(lastHeardNanos, countSilenceFrom));
        }

        boolean judge(long now, double phiThreshold) {
            if (kind == PathStatus.Kind.PRIVATE && !connected) {
                return false;
            }
            if (!detector.heard()) {
                return false;
            }
            long sinceHeard = lastHeardNanos == NEVER ? Long.MAX_VALUE : now - lastHeardNanos;
            return sinceHeard < timings.detectionMaximumNanos() && !detector.suspects(now, phiThreshold);
        }
    }
}
