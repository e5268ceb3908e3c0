package io.avance.testkit.policy;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PairSnapshot;
import io.avance.api.failover.PairTimings;
import io.avance.api.failover.PathStatus;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessStatus;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * jqwik arbitraries for the pair's value types: faults, health scores, and whole pair snapshots
 * spanning every role, silence, freeze, witness answer and data state, weighted toward the
 * boundaries the rules care about (silences around the detection minimum, scores around the
 * margin).
 */
public final class PairArbitraries {

    private static final NodeId ALPHA = NodeId.of("alpha");
    private static final NodeId BETA = NodeId.of("beta");

    private PairArbitraries() {
    }

    /** @return faults of any component, location and severity, some predicted */
    public static Arbitrary<Fault> faults() {
        return Combinators.combine(Arbitraries.of(Component.class), Arbitraries.of("a", "b", "lan", "sda", "psu1"),
                Arbitraries.of(Severity.class), Arbitraries.of(false, false, true))
                .as((component, location, severity, predicted) -> new Fault(component, location, severity, predicted,
                        "generated"));
    }

    /** @return lists of faults with distinct identities */
    public static Arbitrary<List<Fault>> faultLists() {
        return faults().list().ofMaxSize(5).map(PairArbitraries::distinct);
    }

    /** @return health scores from sets of faults */
    public static Arbitrary<HealthScore> healthScores() {
        return faultLists().map(HealthScore::of);
    }

    private static List<Fault> distinct(List<Fault> faults) {
        List<Fault> unique = new ArrayList<>();
        for (Fault fault : faults) {
            if (unique.stream().noneMatch(fault::sameIdentity)) {
                unique.add(fault);
            }
        }
        return unique;
    }

    /** Durations weighted toward the pair's thresholds (default timings). */
    static Arbitrary<Long> durations() {
        PairTimings t = PairTimings.defaults();
        return Arbitraries.oneOf(
                Arbitraries.of(0L, t.heartbeatIntervalNanos(), t.isolationDeadlineNanos() - 1, t.isolationDeadlineNanos(),
                        t.detectionMinimumNanos() - 1, t.detectionMinimumNanos(), t.detectionMaximumNanos(),
                        Long.MAX_VALUE),
                Arbitraries.longs().between(0, 5 * t.detectionMaximumNanos()),
                Arbitraries.longs().between(0, 2 * SnapshotBuilder.HOUR));
    }

    /** @return paths: the private link and one or two public networks, in any state */
    static Arbitrary<List<PathStatus>> paths() {
        Arbitrary<PathStatus> privatePath = Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(true, false),
                durations()).as((connected, alive, silence) -> new PathStatus("private", PathStatus.Kind.PRIVATE,
                connected, connected, connected && alive, silence));
        Arbitrary<PathStatus> lan = publicPath("lan");
        Arbitrary<PathStatus> wan = publicPath("wan");
        return Combinators.combine(privatePath, lan, wan, Arbitraries.of(true, false))
                .as((p, l, w, two) -> two ? List.of(p, l, w) : List.of(p, l));
    }

    private static Arbitrary<PathStatus> publicPath(String name) {
        return Combinators.combine(Arbitraries.of(true, true, false), Arbitraries.of(true, false),
                Arbitraries.of(true, false), durations())
                .as((localUp, peerUp, alive, silence) -> new PathStatus(name, PathStatus.Kind.PUBLIC, localUp, peerUp,
                        localUp && alive, silence));
    }

    private static Arbitrary<NodeView> views(NodeId id) {
        return Combinators.combine(Arbitraries.of(PairRole.class), Arbitraries.longs().between(0, 6),
                Arbitraries.of(Optional.of(ALPHA), Optional.of(BETA), Optional.<NodeId>empty()), healthScores(),
                Arbitraries.of(DataState.class), Arbitraries.of(false, false, true))
                .as((role, epoch, primary, health, data, maintenance) -> new NodeView(id, role, epoch,
                        epoch == 0 ? Optional.empty() : primary, health, data, maintenance));
    }

    private static Arbitrary<List<VmStatus>> vms() {
        Arbitrary<VmStatus> vm = Combinators.combine(Arbitraries.of("vm1", "vm2"), Arbitraries.of(VmState.class),
                Arbitraries.integers().between(0, 7), durations())
                .as(VmStatus::new);
        return vm.list().ofMaxSize(2).map(list -> {
            List<VmStatus> unique = new ArrayList<>();
            for (VmStatus status : list) {
                if (unique.stream().noneMatch(u -> u.name().equals(status.name()))) {
                    unique.add(status);
                }
            }
            return unique;
        });
    }

    /**
     * Pair snapshots of every kind, seen from {@code alpha}.
     *
     * @return the arbitrary
     */
    public static Arbitrary<PairSnapshot> snapshots() {
        Arbitrary<List<Long>> incidents = durations().list().ofMaxSize(5);
        Arbitrary<Object[]> first = Combinators.combine(views(ALPHA), views(BETA).optional(), paths(), durations(),
                durations(), durations(), durations(), incidents)
                .as((self, peer, paths, silence, ackAge, pause, sinceRole, ages) -> new Object[] {self, peer, paths,
                    silence, ackAge, pause, sinceRole, ages});
        return first.flatMap(parts -> Combinators.combine(durations(), Arbitraries.of(true, false, false),
                Arbitraries.of(WitnessStatus.class), vms()).as((sinceReboot, declaredDown, witness, vms) -> {
                    @SuppressWarnings("unchecked")
                    Optional<NodeView> peer = (Optional<NodeView>) parts[1];
                    @SuppressWarnings("unchecked")
                    List<PathStatus> paths = (List<PathStatus>) parts[2];
                    @SuppressWarnings("unchecked")
                    List<Long> ages = (List<Long>) parts[7];
                    long silence = (Long) parts[3];
                    boolean anyAlive = paths.stream().anyMatch(PathStatus::peerAlive);
                    // Keep the snapshot self-consistent: a peer heard on a path is not silent for
                    // longer than the detection maximum.
                    if (anyAlive) {
                        silence = Math.min(silence, PairTimings.defaults().detectionMaximumNanos() - 1);
                    }
                    return new PairSnapshot((NodeView) parts[0], peer, paths, silence, (Long) parts[4],
                            (Long) parts[5], (Long) parts[6], ages, sinceReboot, declaredDown, false, witness, vms,
                            PairTimings.defaults());
                }));
    }
}
