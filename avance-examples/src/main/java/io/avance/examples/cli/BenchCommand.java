package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code avance bench takeover|idle}: the measurements the README reports.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure takeover after SIGKILL (takeover), an idle pair's CPU and stability (idle), fio "
                + "through NBD against a replicated pair, a standalone node and qemu-nbd (nbd), the bytes and"
                + " time of a resync after the backup was away (resync), or live migration of a busy guest at"
                + " several dirty rates (migration).")
final class BenchCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "takeover, idle, nbd, resync or migration")
    private String which;

    @Option(names = "--runs", defaultValue = "20", description = "takeover: how many SIGKILLs")
    private int runs;

    @Option(names = "--minutes", defaultValue = "10", description = "idle: how long")
    private double minutes;

    @Option(names = "--garbage-mb-per-second", defaultValue = "50",
            description = "idle: garbage each node makes, to keep its collector busy")
    private int garbage;

    @Option(names = "--size", defaultValue = "1GiB", description = "nbd, resync: the volume's size")
    private String size;

    @Option(names = "--seconds", defaultValue = "10", description = "nbd: how long each random-write run lasts")
    private int seconds;

    @Option(names = "--rounds", defaultValue = "3", description = "nbd: rounds of the three targets (medians reported)")
    private int rounds;

    @Option(names = "--dirty-percent", defaultValue = "10", description = "resync: the share of blocks changed")
    private double dirtyPercent;

    @Option(names = "--memory", defaultValue = "1GiB", description = "migration: the guest's memory")
    private String memory;

    @Option(names = "--dirty-rates", defaultValue = "0,50,200", split = ",",
            description = "migration: the guest's dirty rates to measure, in MiB/s")
    private List<Long> dirtyRates;

    @Option(names = "--dir", description = "workspace (default: a new temp dir)")
    private Path directory;

    @Override
    public Integer call() throws Exception {
        return switch (which) {
            case "takeover" -> takeover();
            case "idle" -> idle();
            case "nbd" -> storage("avance-bench-nbd-").nbd(rounds);
            case "resync" -> storage("avance-bench-resync-").resync(dirtyPercent / 100);
            case "migration" -> new MigrationBench(directory != null ? directory : Workspace.scratch("avance-bench-mig-"),
                    io.avance.core.config.ConfigValues.sizeBytes("--memory", memory), dirtyRates).run();
            default -> {
                System.err.println("avance bench: unknown benchmark '" + which
                        + "' (takeover, idle, nbd, resync or migration)");
                yield 2;
            }
        };
    }

    private NbdBench storage(String prefix) {
        long bytes = io.avance.core.config.ConfigValues.sizeBytes("--size", size);
        return new NbdBench(directory != null ? directory : Workspace.scratch(prefix), bytes, seconds);
    }

    private int takeover() {
        Path where = directory != null ? directory : Workspace.scratch("avance-bench-takeover-");
        List<Long> detections = new ArrayList<>();
        List<Long> takeovers = new ArrayList<>();
        try (Workspace pair = new Workspace(where, List.of())) {
            pair.start("alpha");
            pair.start("beta");
            NodeProcess primary = pair.awaitPair(Duration.ofSeconds(30));
            for (int run = 1; run <= runs; run++) {
                NodeProcess backup = pair.other(primary);
                Takeover takeover = Takeover.of(primary, backup);
                detections.add(takeover.detectionNanos());
                takeovers.add(takeover.takeoverNanos());
                System.out.printf("run %2d: SIGKILL %s -> %s detected %4d ms, primary %4d ms%n", run, takeover.killed(),
                        takeover.survivor(), takeover.detectionNanos() / 1_000_000, takeover.takeoverNanos() / 1_000_000);
                NodeProcess returning = pair.start(primary.name());
                returning.awaitRole(PairRole.BACKUP, Duration.ofSeconds(30));
                primary = backup;
            }
        }
        System.out.printf("%nSIGKILL of the primary, %d runs, default timings (heartbeat 100 ms, detection 500 ms to 1 s):%n",
                runs);
        System.out.printf("  detection: median %d ms, worst %d ms%n", median(detections), worst(detections));
        System.out.printf("  takeover:  median %d ms, worst %d ms%n", median(takeovers), worst(takeovers));
        return 0;
    }

    private int idle() throws InterruptedException {
        Path where = directory != null ? directory : Workspace.scratch("avance-bench-idle-");
        List<String> jvm = List.of("-Davance.garbage.mb-per-second=" + garbage, "-Xlog:gc:file="
                + where.resolve("gc-%p.log"));
        try (Workspace pair = new Workspace(where, jvm)) {
            NodeProcess alpha = pair.start("alpha");
            NodeProcess beta = pair.start("beta");
            pair.awaitPair(Duration.ofSeconds(30));
            long start = System.nanoTime();
            Duration alphaCpu0 = cpu(alpha);
            Duration betaCpu0 = cpu(beta);
            long roleEvents0 = roleEvents(alpha) + roleEvents(beta);
            long end = start + (long) (minutes * 60e9);
            while (System.nanoTime() < end) {
                Thread.sleep(Math.min(10_000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
                System.out.printf("  %5.1f min: roles %s/%s, role changes since pairing %d%n",
                        (System.nanoTime() - start) / 60e9, alpha.role(), beta.role(),
                        roleEvents(alpha) + roleEvents(beta) - roleEvents0);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double alphaCpu = (cpu(alpha).toNanos() - alphaCpu0.toNanos()) / 1e9;
            double betaCpu = (cpu(beta).toNanos() - betaCpu0.toNanos()) / 1e9;
            long changes = roleEvents(alpha) + roleEvents(beta) - roleEvents0;
            System.out.printf("%nIdle pair for %.1f min, each node making %d MB/s of garbage:%n", seconds / 60, garbage);
            System.out.printf("  role changes after pairing: %d (a false takeover would be one or more)%n", changes);
            System.out.printf("  CPU: alpha %.2f%% of one core, beta %.2f%% (including the garbage maker)%n",
                    100 * alphaCpu / seconds, 100 * betaCpu / seconds);
            System.out.println("  GC logs: " + where);
            return changes == 0 ? 0 : 1;
        }
    }

    private static long roleEvents(NodeProcess node) {
        return node.events().stream().filter(event -> event.type().equals("role")).count();
    }

    private static Duration cpu(NodeProcess node) {
        return ProcessHandle.of(node.pid()).flatMap(handle -> handle.info().totalCpuDuration()).orElse(Duration.ZERO);
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2) / 1_000_000;
    }

    private static long worst(List<Long> values) {
        return Collections.max(values) / 1_000_000;
    }

    @SuppressWarnings("unused")
    private static boolean isStatus(NodeEvent event) {
        return event.type().equals("status");
    }
}
