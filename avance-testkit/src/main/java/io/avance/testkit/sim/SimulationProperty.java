package io.avance.testkit.sim;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The whole-pair properties, each a check of one seed. The test suite runs each over a fixed set
 * of seeds (so that whether a commit lands does not depend on a draw); {@link SimulationCampaign}
 * and {@code avance sim} run them over fresh seeds at scale. Both report a failure the same way:
 * a {@link SimulationFailure} whose message starts with the command that replays it.
 *
 * <p>Every property also checks, after each simulated event, that two nodes never serve at once,
 * that no epoch has two primaries and that no graceful failover goes to a node that is not
 * healthier (see {@link PairSimulation}).
 */
public enum SimulationProperty {

    /** Crashes, freezes, cut links, failed NICs, isolation, loss, delay, health: safe, and live after. */
    NODE_FAULTS("the pair stays safe and recovers under node faults") {
        @Override
        SimulationResult run(long seed) {
            return PairSimulation.run(seed, SimulationConfig.nodeFaults());
        }
    },

    /** With a witness, also full partitions of two running nodes and an unreachable witness. */
    WITNESS("with a witness, safe even when every path between running nodes fails") {
        @Override
        SimulationResult run(long seed) {
            return PairSimulation.run(seed, SimulationConfig.withWitness());
        }
    },

    /** A crashed primary is replaced between the detection minimum and maximum. */
    TAKEOVER_BOUND("a crashed primary is replaced within the takeover bound") {
        @Override
        SimulationResult run(long seed) {
            SimulationConfig config = SimulationConfig.nodeFaults().withDurations(25 * SECOND, 10 * SECOND)
                    .withFaults(EnumSet.of(SimFault.Kind.LOSS, SimFault.Kind.DELAY), 0.2);
            long crashAt = parameter(seed, 3_000, 20_000) * MILLI;
            List<SimFault> faults = new ArrayList<>(Scenario.draw(seed, config));
            // alpha wins the first election; it crashes and comes back 10 s later, with time to
            // rejoin as backup before the end.
            faults.add(new SimFault(SimFault.Kind.CRASH, 0, 0, crashAt, 10 * SECOND, 0));
            config = config.withDurations(40 * SECOND, 10 * SECOND);
            SimulationResult result = PairSimulation.run(seed, config, faults);
            // The backup counts silence from the last heartbeat before the crash: a heartbeat goes
            // out on the first duty cycle (every 20-21 ms) at least one interval after the one
            // before, so the last one may be up to an interval and a cycle older than the crash.
            // It acts on the next duty cycle, up to one tick later.
            long earliest = config.timings().detectionMinimumNanos() - config.timings().heartbeatIntervalNanos()
                    - 21 * MILLI;
            long bound = config.timings().detectionMaximumNanos() + 100 * MILLI;
            require(seed, result.firstPrimaryAfterCrashNanos().size() == 1,
                    "the crash at " + crashAt / 1e9 + " s was not followed by one takeover: "
                            + result.firstPrimaryAfterCrashNanos(), result);
            long delay = result.firstPrimaryAfterCrashNanos().get(0);
            require(seed, delay >= earliest && delay <= bound, "takeover " + delay / 1e6 + " ms after the crash at "
                    + crashAt / 1e9 + " s, outside " + earliest / 1e6 + " to " + bound / 1e6 + " ms", result);
            return result;
        }
    },

    /** An isolated primary stops serving within the isolation deadline, before its peer serves. */
    ISOLATED_PRIMARY_STOPS("an isolated primary stops serving promptly and before its peer serves") {
        @Override
        SimulationResult run(long seed) {
            SimulationConfig config = SimulationConfig.nodeFaults().withFaults(EnumSet.of(SimFault.Kind.LOSS,
                    SimFault.Kind.PAUSE), 0.2).withDurations(25 * SECOND, 10 * SECOND);
            long isolateAt = parameter(seed, 3_000, 20_000) * MILLI;
            List<SimFault> faults = new ArrayList<>(Scenario.draw(seed, config));
            faults.add(new SimFault(SimFault.Kind.ISOLATE, 0, 0, isolateAt, 4 * SECOND, 0));
            SimulationResult result = PairSimulation.run(seed, config, faults);
            List<SimulationResult.Serving> serving = result.serving();
            for (int i = 1; i < serving.size(); i++) {
                require(seed, serving.get(i - 1).toNanos() <= serving.get(i).fromNanos(),
                        "overlapping service " + serving, result);
            }
            // The isolated node learns its NICs are down within 100 ms, and its lease ends at most
            // the isolation deadline after the peer last confirmed it; a duty cycle later it has
            // stopped.
            long bound = isolateAt + config.timings().isolationDeadlineNanos() + 100 * MILLI + 25 * MILLI;
            for (SimulationResult.Serving interval : serving) {
                if (interval.node() == 0 && interval.fromNanos() < isolateAt && interval.toNanos() > isolateAt) {
                    require(seed, interval.toNanos() <= bound, "the isolated primary served until "
                            + interval.toNanos() / 1e9 + " s, isolated at " + isolateAt / 1e9 + " s", result);
                }
            }
            return result;
        }
    },

    /** Loss, delay spikes, GC-sized freezes and minor health noise never cause a takeover. */
    NO_FALSE_TAKEOVER("no takeover from a live primary under loss, delay, short freezes and health noise") {
        @Override
        SimulationResult run(long seed) {
            SimulationConfig config = SimulationConfig.nodeFaults().withFaults(EnumSet.of(SimFault.Kind.LOSS,
                    SimFault.Kind.DELAY, SimFault.Kind.HEALTH), 0.5).withDurations(60 * SECOND, 5 * SECOND);
            List<SimFault> faults = new ArrayList<>();
            for (SimFault fault : Scenario.draw(seed, config)) {
                // Health noise only: minor faults, inside the margin.
                faults.add(fault.kind() == SimFault.Kind.HEALTH
                        ? new SimFault(fault.kind(), fault.node(), fault.network(), fault.startNanos(),
                        fault.durationNanos(), 0)
                        : fault);
            }
            faults.addAll(shortFreezes(seed));
            SimulationResult result = PairSimulation.run(seed, config, faults);
            // Minor faults may add up to the margin and move the VMs gracefully (rule 1, checked on
            // every decision); what noise must never cause is a takeover from a live primary.
            require(seed, result.unilateralTakeovers() == 0, "a takeover under noise alone", result);
            return result;
        }
    },

    /**
     * Public datagrams duplicated and replayed, from earlier runs of the nodes too, never move the
     * roles: after both nodes have crashed and restarted (so that there are old runs and old
     * epochs to replay), a quiet pair under replays keeps its primary and its backup.
     */
    REPLAYED_DATAGRAMS("replayed and duplicated datagrams never cause a takeover or a reboot") {
        @Override
        SimulationResult run(long seed) {
            SimulationConfig config = SimulationConfig.nodeFaults().withDurations(50 * SECOND, 5 * SECOND);
            List<SimFault> faults = new ArrayList<>();
            // Old runs to replay: each node crashes and comes back, in a seed-drawn order.
            int first = (int) parameter(seed, 0, 1);
            long crash = parameter(seed ^ 1, 3_000, 6_000) * MILLI;
            faults.add(new SimFault(SimFault.Kind.CRASH, first, 0, crash, parameter(seed ^ 2, 200, 3_000) * MILLI, 0));
            faults.add(new SimFault(SimFault.Kind.CRASH, 1 - first, 0, crash + 6 * SECOND,
                    parameter(seed ^ 3, 200, 3_000) * MILLI, 0));
            faults.add(new SimFault(SimFault.Kind.CRASH, first, 0, crash + 12 * SECOND,
                    parameter(seed ^ 4, 200, 3_000) * MILLI, 0));
            // Then replays alone, from 25 s to the end (the network's own delays still reorder).
            long quiet = 25 * SECOND;
            faults.add(new SimFault(SimFault.Kind.REPLAY, 0, 0, quiet, config.faultPhaseNanos() - quiet, 0));
            SimulationResult result = PairSimulation.run(seed, config, faults);
            require(seed, result.replayedDatagrams() > 200, "only " + result.replayedDatagrams()
                    + " datagrams replayed", result);
            // The roles settle well before the replays begin; from then on nobody starts serving.
            for (SimulationResult.Serving interval : result.serving()) {
                require(seed, interval.fromNanos() < quiet, "node " + interval.node() + " started serving at "
                        + interval.fromNanos() / 1e9 + " s, under replays alone", result);
            }
            require(seed, !result.serving().isEmpty() && result.serving().get(result.serving().size() - 1).toNanos()
                    == result.simulatedNanos(), "no node served to the end: " + result.serving(), result);
            return result;
        }
    },

    /** Noisy health moves the roles at most once per failover hold-off. */
    NO_PING_PONG("noisy health cannot ping-pong the roles") {
        @Override
        SimulationResult run(long seed) {
            SimulationConfig config = SimulationConfig.nodeFaults().withFaults(EnumSet.of(SimFault.Kind.HEALTH), 2.0)
                    .withDurations(60 * SECOND, 10 * SECOND);
            SimulationResult result = PairSimulation.run(seed, config);
            long holdOff = config.policyConfig().failoverHoldOffNanos();
            long most = 1 + config.faultPhaseNanos() / holdOff;
            require(seed, result.handovers() <= most, result.handovers() + " handovers in "
                    + config.faultPhaseNanos() / SECOND + " s, at most " + most + " allowed", result);
            return result;
        }
    };

    private static final long MILLI = 1_000_000L;
    private static final long SECOND = 1_000_000_000L;

    private final String description;

    SimulationProperty(String description) {
        this.description = description;
    }

    /**
     * Runs one seed.
     *
     * @param seed the seed
     * @return what happened
     */
    abstract SimulationResult run(long seed);

    /**
     * Checks the property for one seed.
     *
     * @param seed the seed; the same seed replays the same run, event for event
     * @return what happened
     * @throws SimulationFailure if a rule was broken; its message starts with the replay command
     */
    public SimulationResult check(long seed) {
        try {
            return run(seed);
        } catch (SimulationFailure failure) {
            throw new SimulationFailure(seed, failure.liveness(), replayCommand(seed) + "\n" + failure.getMessage());
        }
    }

    /**
     * The command that replays one seed of this property.
     *
     * @param seed the seed
     * @return such as {@code avance sim --property node-faults --seed 42}
     */
    public String replayCommand(long seed) {
        return "replay: avance sim --property " + cliName() + " --seed " + seed;
    }

    /**
     * This property's name on the command line.
     *
     * @return such as {@code node-faults}
     */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * What the property states.
     *
     * @return one line
     */
    public String description() {
        return description;
    }

    /**
     * The property of a command-line name.
     *
     * @param name such as {@code node-faults}
     * @return the property, if there is one of that name
     */
    public static Optional<SimulationProperty> byCliName(String name) {
        for (SimulationProperty property : values()) {
            if (property.cliName().equals(name)) {
                return Optional.of(property);
            }
        }
        return Optional.empty();
    }

    /** The longest freeze {@link #NO_FALSE_TAKEOVER} gives a node: a long garbage collection. */
    static final long SHORT_FREEZE_NANOS = 200 * MILLI;
    /** How long a node runs between two of those freezes, at least: two heartbeat intervals and more. */
    static final long BETWEEN_FREEZES_NANOS = 250 * MILLI;

    /**
     * Twenty GC-sized freezes of either node, from a seed. A node's freezes never chain into a
     * longer one: each begins at least {@link #BETWEEN_FREEZES_NANOS} after the node's previous
     * one ended (seed 1003409 drew three that chained into 488 ms, as long as a takeover needs,
     * and its takeover was right).
     *
     * @param seed the seed
     * @return the freezes, by start
     */
    static List<SimFault> shortFreezes(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<long[]> drawn = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            drawn.add(new long[] {random.nextInt(2), 2 * SECOND + random.nextLong(55 * SECOND),
                    random.nextLong(5 * MILLI, SHORT_FREEZE_NANOS)});
        }
        drawn.sort((x, y) -> Long.compare(x[1], y[1]));
        long[] nextAllowed = {0, 0};
        List<SimFault> freezes = new ArrayList<>();
        for (long[] freeze : drawn) {
            int node = (int) freeze[0];
            long start = Math.max(freeze[1], nextAllowed[node]);
            if (start > 57 * SECOND) {
                continue;
            }
            freezes.add(new SimFault(SimFault.Kind.PAUSE, node, 0, start, freeze[2], 0));
            nextAllowed[node] = start + freeze[2] + BETWEEN_FREEZES_NANOS;
        }
        return freezes;
    }

    /**
     * A parameter of a run derived from its seed, so that one seed names the whole run.
     */
    private static long parameter(long seed, long low, long high) {
        return new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L).nextLong(low, high + 1);
    }

    private static void require(long seed, boolean condition, String what, SimulationResult result) {
        if (!condition) {
            StringBuilder message = new StringBuilder("simulation seed ").append(seed).append(": ").append(what)
                    .append("\n  trace (last ").append(result.trace().size()).append(" lines):");
            for (String line : result.trace()) {
                message.append("\n    ").append(line);
            }
            throw new SimulationFailure(seed, false, message.toString());
        }
    }
}
