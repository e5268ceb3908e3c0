package io.avance.testkit.sim;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.event.DecisionTaken;
import io.avance.api.event.PairEvent;
import io.avance.api.event.RoleChanged;
import io.avance.api.failover.FailoverDecision;
import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessAnswer;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.DataState;
import io.avance.core.health.FaultRegistry;
import io.avance.core.health.HealthConfig;
import io.avance.core.pair.ControllerSettings;
import io.avance.core.pair.Incarnations;
import io.avance.core.pair.PairController;
import io.avance.core.pair.PairEnvironment;
import io.avance.core.pair.PersistedPairState;
import io.avance.core.time.ManualClock;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs two pair controllers against a simulated world, deterministically from a seed.
 *
 * <p>Everything random (the faults, message delays and losses, tick jitter, incarnations) comes
 * from one {@link SplittableRandom} seeded with the seed, and events are processed in a total
 * order (time, then insertion), so a seed replays exactly. Messages cross the simulated network
 * encoded and decoded by the real codecs.
 *
 * <h2>The world</h2>
 * <ul>
 *   <li>Private link: a TCP-like session. Messages arrive in order or not at all. A crashed
 *       process's session closes at once (the kernel sends FIN); a cut cable is noticed only
 *       after a TCP timeout of 0.3 to 3 s. Reconnects every 200 ms.</li>
 *   <li>Public networks: UDP-like, with loss and delay; a failed NIC drops its node's datagrams
 *       and shows the node a critical fault on that network after 0 to 100 ms.</li>
 *   <li>Witness: a compare-and-set register with leases, 0.5 to 3 ms away.</li>
 * </ul>
 *
 * <h2>Checked after every event</h2>
 * <ol>
 *   <li>never do both nodes serve ({@link PairController#mayServe}) at once;</li>
 *   <li>never are two nodes primary in one epoch;</li>
 *   <li>never does the policy order a graceful failover to a node that is not healthier.</li>
 * </ol>
 * After the faults heal and the pair has had time to recover: exactly one node serves and the
 * other is its backup.
 */
public final class PairSimulation {

    private static final int TRACE_LINES = 400;
    private static final long MS = 1_000_000L;

    private final long seed;
    private final SimulationConfig config;
    private final List<SimFault> faults;
    private final SplittableRandom random;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"), 0);
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final Deque<String> trace = new ArrayDeque<>();
    private final Node[] nodes = new Node[2];
    private final Map<Long, Integer> epochOwners = new HashMap<>();
    private final List<String> networks = new ArrayList<>();

    private long sequence;
    private long now;
    /**
     * One buffer for every codec round trip, from an allocator without leak tracking: the
     * simulation encodes hundreds of thousands of messages, and Netty's paranoid leak detector
     * (on in tests) would record a stack trace for each. Buffer handling is tested on real
     * sockets instead.
     */
    private final ByteBuf scratch = new UnpooledByteBufAllocator(false, true).heapBuffer(4096);

    // The world's state; counters, so that overlapping faults heal correctly.
    private int privateCuts;
    private int partitions;
    private final int[] isolations = new int[2];
    private final int[][] nicDowns;
    private final int[] witnessDowns = new int[2];
    private final List<Double> losses = new ArrayList<>();
    private final List<Long> delays = new ArrayList<>();
    private int replays;
    /** Public datagrams as they went on the wire, for the REPLAY fault: the newest few thousand. */
    private final java.util.ArrayDeque<Recorded> recorded = new java.util.ArrayDeque<>();
    private int replaysDelivered;
    private boolean sessionUp;
    private long sessionGeneration;
    private final long[] lastPrivateDelivery = new long[2];

    private long witnessEpoch;
    private int witnessHolder = -1;
    private long witnessLeaseExpiry;

    private int roleChanges;
    private int takeovers;
    private int unilateralTakeovers;
    private int handovers;
    private int reboots;
    private final long[] crashedWhileServingAt = {-1, -1};
    private final List<Long> takeoverDelays = new ArrayList<>();
    private final List<SimulationResult.Serving> serving = new ArrayList<>();

    private PairSimulation(long seed, SimulationConfig config, List<SimFault> faults) {
        this.seed = seed;
        this.config = config;
        this.faults = List.copyOf(faults);
        this.random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        this.nicDowns = new int[2][config.publicNetworks()];
        for (int i = 0; i < config.publicNetworks(); i++) {
            networks.add("lan" + i);
        }
    }

    /**
     * Runs a simulation with faults drawn from the seed.
     *
     * @param seed   the seed; the same seed and configuration replay the same run
     * @param config what to simulate
     * @return what happened
     * @throws SimulationFailure naming the seed, if a rule was broken
     */
    public static SimulationResult run(long seed, SimulationConfig config) {
        return run(seed, config, Scenario.draw(seed, config));
    }

    /**
     * Runs a simulation with the given faults.
     *
     * @param seed   the seed for everything else (delays, losses, jitter)
     * @param config what to simulate
     * @param faults the faults to inject
     * @return what happened
     * @throws SimulationFailure naming the seed, if a rule was broken
     */
    public static SimulationResult run(long seed, SimulationConfig config, List<SimFault> faults) {
        Logger engineLog = Logger.getLogger("io.avance");
        Level previous = engineLog.getLevel();
        if (!Boolean.getBoolean("avance.simulation.log")) {
            // Thousands of runs would drown the test output; the trace tells what matters.
            engineLog.setLevel(Level.OFF);
        }
        try {
            return new PairSimulation(seed, config, faults).execute();
        } finally {
            engineLog.setLevel(previous);
        }
    }

    private SimulationResult execute() {
        NodeId a = NodeId.of("alpha");
        NodeId b = NodeId.of("beta");
        nodes[0] = new Node(0, a, b);
        nodes[1] = new Node(1, b, a);
        for (Node node : nodes) {
            node.start();
        }
        schedule(0, this::maintainPrivateLink);
        for (SimFault fault : faults) {
            schedule(fault.startNanos(), () -> begin(fault));
            schedule(fault.startNanos() + fault.durationNanos(), () -> end(fault));
        }
        long end = config.faultPhaseNanos() + config.healNanos();
        while (!queue.isEmpty() && queue.peek().time <= end) {
            Event event = queue.poll();
            advanceTo(event.time);
            event.run();
            checkSafety();
        }
        advanceTo(end);
        scratch.release();
        checkLiveness();
        for (Node node : nodes) {
            if (node.servingSince >= 0) {
                serving.add(new SimulationResult.Serving(node.index, node.servingSince, end));
            }
        }
        serving.sort(java.util.Comparator.comparingLong(SimulationResult.Serving::fromNanos));
        return new SimulationResult(seed, faults, roleChanges, takeovers, unilateralTakeovers, handovers, reboots,
                List.copyOf(takeoverDelays), List.copyOf(serving), List.copyOf(trace), end, replaysDelivered);
    }

    private void advanceTo(long time) {
        now = time;
        clock.advanceTo(time);
    }

    // ------------------------------------------------------------------------------------------
    // Events

    private final class Event implements Comparable<Event> {
        final long time;
        final long order;
        final int target;
        final long generation;
        final Runnable action;

        Event(long time, int target, long generation, Runnable action) {
            this.time = time;
            this.order = sequence++;
            this.target = target;
            this.generation = generation;
            this.action = action;
        }

        void run() {
            if (target < 0) {
                action.run();
                return;
            }
            Node node = nodes[target];
            if (!node.alive || (generation >= 0 && node.generation != generation)) {
                return;
            }
            if (now < node.pausedUntil) {
                // A frozen process runs nothing; what it would have done waits, in order.
                queue.add(new Event(node.pausedUntil, target, generation, action));
                return;
            }
            action.run();
        }

        @Override
        public int compareTo(Event other) {
            int byTime = Long.compare(time, other.time);
            return byTime != 0 ? byTime : Long.compare(order, other.order);
        }
    }

    private void schedule(long at, Runnable action) {
        queue.add(new Event(Math.max(at, now), -1, -1, action));
    }

    /** Schedules an action on a node's process, dropped if that incarnation is gone by then. */
    private void scheduleOn(Node node, long at, Runnable action) {
        queue.add(new Event(Math.max(at, now), node.index, node.generation, action));
    }

    /** Schedules an action on whatever process a node runs when it is due. */
    private void scheduleOnCurrent(Node node, long at, Runnable action) {
        queue.add(new Event(Math.max(at, now), node.index, -1, action));
    }

    private long between(long low, long high) {
        return low + (high > low ? random.nextLong(high - low) : 0);
    }

    private void trace(String line) {
        trace.addLast(String.format("%9.3fs %s", now / 1e9, line));
        while (trace.size() > TRACE_LINES) {
            trace.removeFirst();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Faults

    private void begin(SimFault fault) {
        trace("FAULT " + fault);
        Node node = nodes[fault.node()];
        switch (fault.kind()) {
            case CRASH -> node.crash("crash");
            case PAUSE -> {
                node.pausedUntil = Math.max(node.pausedUntil, now + fault.durationNanos());
            }
            case CUT_PRIVATE_LINK -> {
                privateCuts++;
                linkBroke();
            }
            case NIC_DOWN -> {
                nicDowns[fault.node()][fault.network()]++;
                reportNetwork(node, fault.network());
            }
            case ISOLATE -> {
                isolations[fault.node()]++;
                linkBroke();
                for (int network = 0; network < networks.size(); network++) {
                    reportNetwork(node, network);
                }
            }
            case LOSS -> losses.add(fault.magnitude());
            case DELAY -> delays.add((long) fault.magnitude());
            case HEALTH -> node.faults.raise(healthFault(fault));
            case WITNESS_DOWN -> witnessDowns[fault.node()]++;
            case PARTITION -> {
                partitions++;
                linkBroke();
            }
            case REPLAY -> replays++;
        }
    }

    private void end(SimFault fault) {
        trace("HEALED " + fault);
        Node node = nodes[fault.node()];
        switch (fault.kind()) {
            case CRASH -> {
                if (!node.alive) {
                    node.start();
                }
            }
            case PAUSE -> {
            }
            case CUT_PRIVATE_LINK -> privateCuts--;
            case NIC_DOWN -> {
                nicDowns[fault.node()][fault.network()]--;
                reportNetwork(node, fault.network());
            }
            case ISOLATE -> {
                isolations[fault.node()]--;
                for (int network = 0; network < networks.size(); network++) {
                    reportNetwork(node, network);
                }
            }
            case LOSS -> losses.remove(fault.magnitude());
            case DELAY -> delays.remove(Long.valueOf((long) fault.magnitude()));
            case HEALTH -> {
                Fault raised = healthFault(fault);
                node.faults.clear(raised.component(), raised.location());
            }
            case WITNESS_DOWN -> witnessDowns[fault.node()]--;
            case PARTITION -> partitions--;
            case REPLAY -> replays--;
        }
    }

    private Fault healthFault(SimFault fault) {
        Component[] components = {Component.DISK, Component.FAN, Component.POWER_SUPPLY, Component.MEMORY};
        Component component = components[(int) (Math.abs(fault.startNanos()) % components.length)];
        Severity severity = Severity.values()[(int) Math.max(0, Math.min(2, fault.magnitude()))];
        return Fault.of(component, "sim-" + fault.startNanos(), severity, "simulated " + severity + " fault");
    }

    /** A node's NIC monitor notices, after 0 to 100 ms, whether a network works for it. */
    private void reportNetwork(Node node, int network) {
        scheduleOnCurrent(node, now + between(0, 100 * MS), () -> {
            String name = networks.get(network);
            if (nicDown(node.index, network)) {
                node.faults.raise(Fault.of(Component.PUBLIC_NETWORK, name, Severity.CRITICAL, "no carrier"));
            } else {
                node.faults.clear(Component.PUBLIC_NETWORK, name);
            }
        });
    }

    private boolean nicDown(int node, int network) {
        return nicDowns[node][network] > 0 || isolations[node] > 0;
    }

    private boolean privateLinkBroken() {
        return privateCuts > 0 || partitions > 0 || isolations[0] > 0 || isolations[1] > 0;
    }

    private double loss() {
        double loss = 0;
        for (double value : losses) {
            loss = Math.max(loss, value);
        }
        return loss;
    }

    private long extraDelay() {
        long delay = 0;
        for (long value : delays) {
            delay = Math.max(delay, value);
        }
        return delay;
    }

    // ------------------------------------------------------------------------------------------
    // Private link

    private void maintainPrivateLink() {
        if (!sessionUp && nodes[0].alive && nodes[1].alive && !privateLinkBroken()) {
            long generation = sessionGeneration;
            schedule(now + between(MS / 2, 3 * MS), () -> {
                if (sessionUp || sessionGeneration != generation || !nodes[0].alive || !nodes[1].alive
                        || privateLinkBroken()) {
                    return;
                }
                sessionUp = true;
                sessionGeneration++;
                trace("private link session " + sessionGeneration + " up");
                for (Node node : nodes) {
                    long peerIncarnation = nodes[1 - node.index].controller.incarnation();
                    scheduleOn(node, now, () -> node.controller.onPrivateSessionUp(peerIncarnation, now));
                }
            });
        }
        schedule(now + 200 * MS, this::maintainPrivateLink);
    }

    /** A cut cable is noticed by TCP only after its retransmission timeout. */
    private void linkBroke() {
        if (!sessionUp) {
            return;
        }
        long generation = sessionGeneration;
        schedule(now + between(300 * MS, 3000 * MS), () -> {
            if (sessionUp && sessionGeneration == generation && privateLinkBroken()) {
                closeSession("TCP timeout");
            }
        });
    }

    private void closeSession(String reason) {
        sessionUp = false;
        sessionGeneration++;
        trace("private link down: " + reason);
        for (Node node : nodes) {
            if (node.alive) {
                scheduleOn(node, now + between(0, MS), () -> node.controller.onPrivateSessionDown(reason, now));
            }
        }
    }

    private boolean sendPrivate(Node from, Message message) {
        if (!sessionUp) {
            return false;
        }
        if (privateLinkBroken()) {
            return true;
        }
        Node to = nodes[1 - from.index];
        Message copy = roundTrip(message);
        long at = Math.max(now + between(30_000, 300_000) + extraDelay(), lastPrivateDelivery[from.index] + 1);
        lastPrivateDelivery[from.index] = at;
        long generation = sessionGeneration;
        scheduleOn(to, at, () -> {
            if (sessionUp && sessionGeneration == generation && !privateLinkBroken()) {
                to.controller.onMessage(PairController.PRIVATE_PATH, copy, now);
            }
        });
        return true;
    }

    /** A public datagram seen on the wire: where it went and what it said. */
    private record Recorded(int to, int network, Message message) {
    }

    private boolean sendPublic(Node from, String network, Message message) {
        int index = networks.indexOf(network);
        if (nicDown(from.index, index)) {
            return true;
        }
        Node to = nodes[1 - from.index];
        Message copy = roundTrip(message);
        recorded.addLast(new Recorded(to.index, index, copy));
        while (recorded.size() > 4096) {
            recorded.removeFirst();
        }
        if (replays > 0) {
            replay(to, index, copy);
        }
        if (partitions > 0 || random.nextDouble() < loss()) {
            return true;
        }
        deliverPublic(from.index, to, index, copy, now + between(50_000, 2 * MS) + extraDelay());
        return true;
    }

    private void deliverPublic(int from, Node to, int network, Message copy, long at) {
        scheduleOnCurrent(to, at, () -> {
            if (!nicDown(from, network) && !nicDown(to.index, network) && partitions == 0) {
                to.controller.onMessage(networks.get(network), copy, now);
            }
        });
    }

    /**
     * The REPLAY fault at work, on each datagram sent: sometimes a duplicate of it, late; sometimes
     * an earlier datagram to the same node on the same network, from any time, earlier runs of
     * the sender included.
     */
    private void replay(Node to, int network, Message live) {
        if (random.nextDouble() < 0.3) {
            replaysDelivered++;
            deliverPublic(1 - to.index, to, network, live, now + between(MS, 500 * MS));
        }
        if (random.nextDouble() < 0.5 && !recorded.isEmpty()) {
            // Pick one of the recorded datagrams at random; those that went elsewhere are skipped.
            int skip = random.nextInt(recorded.size());
            for (Recorded old : recorded) {
                if (skip-- <= 0 && old.to() == to.index && old.network() == network) {
                    replaysDelivered++;
                    deliverPublic(1 - to.index, to, network, old.message(), now + between(50_000, 2 * MS));
                    break;
                }
            }
        }
    }

    private Message roundTrip(Message message) {
        scratch.clear();
        Messages.encode(message, scratch);
        return Messages.decode(message.type(), scratch);
    }

    // ------------------------------------------------------------------------------------------
    // Witness

    private void claimWitness(Node node, long epoch, Duration lease) {
        if (witnessDowns[node.index] > 0) {
            scheduleOn(node, now + 250 * MS, () -> node.controller.onWitnessAnswer(epoch,
                    now - 250 * MS, WitnessAnswer.unreachable(), now));
            return;
        }
        long sentAt = now;
        schedule(now + between(MS / 2, 3 * MS), () -> {
            WitnessAnswer answer = witnessDecide(node.index, epoch, lease.toNanos());
            scheduleOn(node, now + between(MS / 2, 3 * MS), () -> node.controller.onWitnessAnswer(epoch, sentAt,
                    answer, now));
        });
    }

    /** The witness's rule, evaluated at the witness when the claim arrives. */
    private WitnessAnswer witnessDecide(int node, long epoch, long leaseNanos) {
        boolean renewal = epoch == witnessEpoch && witnessHolder == node;
        boolean newer = epoch > witnessEpoch && (witnessHolder < 0 || witnessHolder == node || now >= witnessLeaseExpiry);
        if (renewal || newer) {
            witnessEpoch = epoch;
            witnessHolder = node;
            witnessLeaseExpiry = now + leaseNanos;
            return new WitnessAnswer(WitnessAnswer.Outcome.GRANTED, epoch, Optional.of(nodes[node].id),
                    Duration.ofNanos(leaseNanos));
        }
        return new WitnessAnswer(WitnessAnswer.Outcome.REFUSED, witnessEpoch,
                witnessHolder < 0 ? Optional.empty() : Optional.of(nodes[witnessHolder].id), Duration.ZERO);
    }

    // ------------------------------------------------------------------------------------------
    // Checks

    private void checkSafety() {
        boolean first = nodes[0].serving();
        boolean second = nodes[1].serving();
        if (first && second) {
            fail("both nodes serve at once");
        }
        for (Node node : nodes) {
            boolean serving = node == nodes[0] ? first : second;
            if (serving && node.servingSince < 0) {
                node.servingSince = now;
                Node other = nodes[1 - node.index];
                if (crashedWhileServingAt[other.index] >= 0) {
                    takeoverDelays.add(now - crashedWhileServingAt[other.index]);
                    crashedWhileServingAt[other.index] = -1;
                }
            } else if (!serving && node.servingSince >= 0) {
                PairSimulation.this.serving.add(new SimulationResult.Serving(node.index, node.servingSince, now));
                node.servingSince = -1;
            }
        }
    }

    private void checkLiveness() {
        Node primary = null;
        for (Node node : nodes) {
            if (!node.alive) {
                fail("liveness: " + node.id + " is not running after every fault healed");
            }
            if (node.serving()) {
                primary = node;
            }
        }
        if (primary == null) {
            fail("liveness: no node serves " + config.healNanos() / 1e9 + " s after every fault healed");
        }
        Node backup = nodes[1 - primary.index];
        if (backup.controller.role() != PairRole.BACKUP) {
            fail("liveness: " + backup.id + " is " + backup.controller.role() + ", not the backup of " + primary.id);
        }
        long primaryEpoch = primary.controller.status().epoch();
        long backupEpoch = backup.controller.status().epoch();
        if (primaryEpoch != backupEpoch) {
            fail("liveness: the nodes disagree on the epoch: " + primaryEpoch + " and " + backupEpoch);
        }
    }

    private void fail(String what) {
        StringBuilder message = new StringBuilder()
                .append("simulation seed ").append(seed).append(" broke a rule at ")
                .append(String.format("%.3fs", now / 1e9)).append(": ").append(what)
                .append("\n  replay: PairSimulation.run(").append(seed).append("L, config)")
                .append("\n  faults: ").append(faults)
                .append("\n  trace (last ").append(trace.size()).append(" lines):");
        for (String line : trace) {
            message.append("\n    ").append(line);
        }
        throw new SimulationFailure(seed, what.startsWith("liveness"), message.toString());
    }

    // ------------------------------------------------------------------------------------------
    // Nodes

    private final class Node {
        final int index;
        final NodeId id;
        final NodeId peer;
        final FaultRegistry faults;
        PersistedPairState persisted;
        PairController controller;
        boolean alive;
        long generation;
        long pausedUntil = -1;
        long servingSince = -1;
        long lastIncarnation;
        DataState data = DataState.UP_TO_DATE;

        Node(int index, NodeId id, NodeId peer) {
            this.index = index;
            this.id = id;
            this.peer = peer;
            this.faults = new FaultRegistry(id, clock, clock, HealthConfig.defaults());
            this.persisted = PersistedPairState.initial(id);
        }

        boolean serving() {
            return alive && controller.mayServe(now);
        }

        void start() {
            alive = true;
            generation++;
            pausedUntil = -1;
            // Runs of a node are ordered, as AvanceNode makes them: simulated wall time, then
            // random bits.
            long incarnation = Incarnations.next(lastIncarnation, clock.millis(), random.nextInt());
            lastIncarnation = incarnation;
            ControllerSettings settings = new ControllerSettings(id, Optional.of(peer), networks, config.timings(),
                    config.phiThreshold(), config.witness());
            FailoverPolicy policy = new CheckingPolicy(config.policy().apply(config.policyConfig()));
            controller = new PairController(settings, policy, faults, new Environment(this), persisted, clock,
                    new SimpleMeterRegistry(), incarnation, now);
            trace(id + " starts (epoch " + persisted.epoch() + ", incarnation " + Long.toHexString(incarnation) + ")");
            // A starting process's network monitor looks at every NIC.
            for (int network = 0; network < networks.size(); network++) {
                reportNetwork(this, network);
            }
            tick(now + between(0, config.timings().heartbeatIntervalNanos() / 5));
        }

        void tick(long at) {
            scheduleOn(this, at, () -> {
                controller.onTick(now);
                tick(now + 20 * MS + between(0, MS));
            });
        }

        void crash(String why) {
            if (!alive) {
                return;
            }
            if (serving()) {
                crashedWhileServingAt[index] = now;
            }
            trace(id + " dies: " + why);
            alive = false;
            if (servingSince >= 0) {
                PairSimulation.this.serving.add(new SimulationResult.Serving(index, servingSince, now));
            }
            servingSince = -1;
            generation++;
            // A restarted process has a complete copy, but cannot know whether it is the latest.
            data = DataState.CONSISTENT;
            if (sessionUp) {
                closeSession(id + " died (FIN)");
            }
        }

        /** Enforces rule 1 on every decision the policy makes in the simulation. */
        private final class CheckingPolicy implements FailoverPolicy {
            private final FailoverPolicy delegate;

            CheckingPolicy(FailoverPolicy delegate) {
                this.delegate = delegate;
            }

            @Override
            public FailoverDecision decide(PairSnapshot snapshot) {
                FailoverDecision decision = delegate.decide(snapshot);
                if (decision.action() == FailoverDecision.Action.MIGRATE_TO_PEER) {
                    boolean healthier = snapshot.peer().isPresent() && snapshot.peer().get().health()
                            .isHealthierThan(snapshot.self().health(), config.policyConfig().healthMargin());
                    if (!healthier) {
                        fail(id + " decided to fail over to a peer that is not healthier: " + decision + " in "
                                + snapshot);
                    }
                }
                return decision;
            }
        }
    }

    private final class Environment implements PairEnvironment {
        private final Node node;

        Environment(Node node) {
            this.node = node;
        }

        @Override
        public boolean sendPrivate(Message message) {
            return PairSimulation.this.sendPrivate(node, message);
        }

        @Override
        public boolean sendPublic(String network, Message message) {
            return PairSimulation.this.sendPublic(node, network, message);
        }

        @Override
        public void persist(PersistedPairState state) {
            node.persisted = state;
        }

        @Override
        public void publish(PairEvent event) {
            if (event instanceof RoleChanged change) {
                roleChanges++;
                trace(change.node() + ": " + change.from() + " -> " + change.to() + " in epoch " + change.epoch()
                        + ": " + change.reason());
                if (change.to() == PairRole.PRIMARY) {
                    takeovers++;
                    Integer owner = epochOwners.putIfAbsent(change.epoch(), node.index);
                    if (owner != null && owner != node.index) {
                        fail("two primaries in epoch " + change.epoch() + ": " + nodes[owner].id + " and " + node.id);
                    }
                }
            } else if (event instanceof DecisionTaken taken) {
                trace(taken.node() + " decided " + taken.decision() + " -> " + taken.outcome());
            }
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            if (action.equals("handover") && outcome.equals("sent")) {
                handovers++;
            }
            if (action.equals("takeover") && !detail.contains("elected")) {
                unilateralTakeovers++;
            }
        }

        @Override
        public void rebootSelf(String reason) {
            reboots++;
            scheduleOn(node, now, () -> {
                node.crash("reboot requested: " + reason);
                schedule(now + between(50 * MS, 200 * MS), () -> {
                    if (!node.alive) {
                        node.start();
                    }
                });
            });
        }

        @Override
        public boolean fencePeer(NodeId peer) {
            return false;
        }

        @Override
        public void claimWitness(long epoch, Duration lease) {
            if (config.witness()) {
                PairSimulation.this.claimWitness(node, epoch, lease);
            }
        }

        @Override
        public void beginGracefulFailover(NodeId peer) {
            scheduleOn(node, now + between(20 * MS, 300 * MS), () -> node.controller.onReadyToHandOver(now));
        }

        @Override
        public void restartVm(String vm) {
        }

        @Override
        public void onRoleChanged(PairRole from, PairRole to, long epoch) {
            if (to == PairRole.PRIMARY || to == PairRole.BACKUP) {
                // The replication layer is outside this simulation: joining a primary is taken to
                // bring the copy up to date at once.
                node.data = DataState.UP_TO_DATE;
            }
        }

        @Override
        public List<VmStatus> vms() {
            return List.of();
        }

        @Override
        public DataState dataState() {
            return node.data;
        }
    }
}
