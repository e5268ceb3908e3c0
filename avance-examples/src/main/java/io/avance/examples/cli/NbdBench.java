package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.net.FaultInjectingTcpProxy;
import io.avance.testkit.process.LoopbackPair;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import io.avance.testkit.tools.ExternalTool;
import io.avance.testkit.tools.LoopbackAddresses;
import java.io.IOException;
import java.net.InetSocketAddress;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The storage benchmarks the README reports, each measured side by side in one run:
 * <ul>
 *   <li>{@code nbd}: fio through NBD against (a) our export on a replicated pair, (b) our export
 *       on a standalone node, (c) {@code qemu-nbd} serving the same kind of file: 1 MiB
 *       sequential writes, then 4 KiB random writes at queue depth 32;</li>
 *   <li>{@code resync}: the backup away while a tenth of a volume's blocks change, then back: the
 *       bytes that crossed the private link (counted by a proxy in front of the backup) against
 *       the dirty bytes, and the time the resync took.</li>
 * </ul>
 */
final class NbdBench {

    private static final Duration START = Duration.ofSeconds(60);
    private static final String VOLUME = "bench";

    private final Path directory;
    private final long sizeBytes;
    private final int seconds;

    NbdBench(Path directory, long sizeBytes, int seconds) {
        this.directory = directory;
        this.sizeBytes = sizeBytes;
        this.seconds = seconds;
    }

    /** One target's results. */
    private record Row(String target, FioResult sequential, FioResult random) {
    }

    int nbd(int rounds) throws IOException {
        System.out.printf("fio through NBD, %d MiB volume, on loopback; %d rounds, each target in turn in every round,%n"
                + "all three serving throughout; medians reported.%n", sizeBytes >> 20, rounds);
        List<List<Row>> byTarget = new ArrayList<>(List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>()));
        Path image = directory.resolve("qemu-nbd.img");
        try (Workspace pair = new Workspace(directory.resolve("pair"), List.of(),
                p -> p.withNbd().with("volume." + VOLUME + ".size", sizeBytes + ""));
             NodeProcess solo = standalone(directory.resolve("standalone"))) {
            NodeProcess alpha = pair.start(LoopbackPair.ALPHA);
            NodeProcess beta = pair.start(LoopbackPair.BETA);
            alpha.awaitRole(PairRole.PRIMARY, START);
            beta.awaitRole(PairRole.BACKUP, START);
            awaitState(alpha, "SYNCED");
            try (ExternalTool.Running qemu = qemuNbd(image)) {
                String[] names = {"(a) Avance, replicated", "(b) Avance, standalone", "(c) qemu-nbd"};
                String[] uris = {pair.pair.nbdUri(LoopbackPair.ALPHA, VOLUME),
                        "nbd://" + LoopbackAddresses.text(soloAddress) + "/" + VOLUME,
                        "nbd://" + LoopbackAddresses.text(qemuAddress) + "/" + VOLUME};
                for (int round = 1; round <= rounds; round++) {
                    System.out.printf("%nround %d%n", round);
                    for (int target = 0; target < 3; target++) {
                        byTarget.get(target).add(measure(names[target], uris[target]));
                    }
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        for (List<Row> runs : byTarget) {
            rows.add(median(runs));
        }
        System.out.printf("%n| Target | 4 KiB random write, QD 32: IOPS | p50 | p99 | 1 MiB sequential write |%n");
        System.out.printf("|---|---|---|---|---|%n");
        for (Row row : rows) {
            System.out.printf("| %s | %,.0f | %.0f us | %.0f us | %.0f MB/s |%n", row.target(), row.random().iops(),
                    row.random().p50Micros(), row.random().p99Micros(), row.sequential().bytesPerSecond() / 1e6);
        }
        Row replicated = rows.get(0);
        Row standalone = rows.get(1);
        Row qemu = rows.get(2);
        System.out.printf("%nreplicated / standalone: random %.2f (target 0.7), sequential %.2f (target 0.8)%n",
                replicated.random().iops() / standalone.random().iops(),
                replicated.sequential().bytesPerSecond() / standalone.sequential().bytesPerSecond());
        System.out.printf("standalone / qemu-nbd:   random %.2f, sequential %.2f (target 1.0 or more)%n",
                standalone.random().iops() / qemu.random().iops(),
                standalone.sequential().bytesPerSecond() / qemu.sequential().bytesPerSecond());
        return 0;
    }

    /** The run with the median random IOPS, and the median sequential rate, of one target's rounds. */
    private static Row median(List<Row> runs) {
        List<Row> byRandom = new ArrayList<>(runs);
        byRandom.sort(java.util.Comparator.comparingDouble(row -> row.random().iops()));
        List<Row> bySequential = new ArrayList<>(runs);
        bySequential.sort(java.util.Comparator.comparingDouble(row -> row.sequential().bytesPerSecond()));
        return new Row(runs.get(0).target(), bySequential.get(runs.size() / 2).sequential(),
                byRandom.get(runs.size() / 2).random());
    }

    int resync(double dirtyFraction) throws IOException {
        long dirtyBlocks = Math.round(sizeBytes / 4096 * dirtyFraction);
        long dirtyBytes = dirtyBlocks * 4096;
        System.out.printf("Resync of a %d MiB volume after %d random 4 KiB blocks (%.0f%%) changed while the backup "
                + "was away.%n", sizeBytes >> 20, dirtyBlocks, dirtyFraction * 100);
        Path where = directory.resolve("resync");
        Files.createDirectories(where);
        LoopbackPair configured = LoopbackPair.in(where);
        try (FaultInjectingTcpProxy proxy = new FaultInjectingTcpProxy(configured.privateAddress(LoopbackPair.BETA))) {
            configured.withNbd().alphaDials(proxy.address()).with("volume." + VOLUME + ".size", sizeBytes + "");
            try (Workspace pair = new Workspace(List.of(), configured)) {
                NodeProcess alpha = pair.start(LoopbackPair.ALPHA);
                NodeProcess beta = pair.start(LoopbackPair.BETA);
                alpha.awaitRole(PairRole.PRIMARY, START);
                beta.awaitRole(PairRole.BACKUP, START);
                awaitState(alpha, "SYNCED");
                // The backup leaves cleanly (as for maintenance); the primary tracks what changes.
                beta.stop();
                awaitState(alpha, "DEGRADED");
                ExternalTool.in(where).okHere(600, "fio", "--name=dirty", "--ioengine=nbd",
                        "--uri=" + pair.pair.nbdUri(LoopbackPair.ALPHA, VOLUME), "--rw=randwrite", "--bs=4k",
                        "--iodepth=32", "--size=" + sizeBytes, "--io_size=" + dirtyBytes, "--randrepeat=0",
                        "--verify_state_save=0");
                long before = proxy.forwardedBytes();
                long startedAt = System.nanoTime();
                NodeProcess back = pair.start(LoopbackPair.BETA);
                NodeEvent synced = awaitState(back, "SYNCED");
                long sent = proxy.forwardedBytes() - before;
                double took = (synced.atNanos() - startedAt) / 1e9;
                long reported = alpha.events().stream().filter(e -> e.type().equals("resync"))
                        .mapToLong(e -> Long.parseLong(e.get("total").orElse("0"))).max().orElse(0);
                System.out.printf("%n  dirty bytes:                   %,d%n", dirtyBytes);
                System.out.printf("  resync total the primary reported: %,d%n", reported);
                System.out.printf("  bytes on the private link, both ways, from the backup's start to in sync "
                        + "(data, headers, acknowledgements, heartbeats): %,d = %.3f x the dirty bytes (target "
                        + "at most 1.05)%n", sent, (double) sent / dirtyBytes);
                NodeEvent resyncStart = alpha.awaitAfter(startedAt, event -> event.type().equals("volume")
                        && event.get("to").orElse("").equals("SYNC_SOURCE"), START);
                NodeEvent resyncEnd = alpha.awaitAfter(resyncStart.atNanos(), event -> event.type().equals("volume")
                        && event.get("to").orElse("").equals("SYNCED"), START);
                double resyncSeconds = (resyncEnd.atNanos() - resyncStart.atNanos()) / 1e9;
                System.out.printf("  the resync itself (primary SYNC_SOURCE to SYNCED): %.2f s, %.0f MB/s%n", resyncSeconds,
                        dirtyBytes / 1e6 / resyncSeconds);
                System.out.printf("  backup start to in sync: %.2f s (includes the backup's JVM start and pairing)%n",
                        took);
            }
        }
        return 0;
    }

    private Row measure(String target, String uri) {
        System.out.printf("%n%s at %s%n", target, uri);
        FioResult sequential = fio(uri, "seq", "--rw=write", "--bs=1m", "--iodepth=4", "--size=" + sizeBytes);
        System.out.printf("  1 MiB sequential write:      %.0f MB/s%n", sequential.bytesPerSecond() / 1e6);
        FioResult random = fio(uri, "rand", "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=" + sizeBytes,
                "--time_based", "--runtime=" + seconds, "--randrepeat=0");
        System.out.printf("  4 KiB random write, QD 32:   %,.0f IOPS, p50 %.0f us, p99 %.0f us%n", random.iops(),
                random.p50Micros(), random.p99Micros());
        return new Row(target, sequential, random);
    }

    private FioResult fio(String uri, String name, String... job) {
        List<String> command = new ArrayList<>(List.of("fio", "--name=" + name, "--ioengine=nbd", "--uri=" + uri,
                "--output-format=json", "--verify_state_save=0"));
        command.addAll(List.of(job));
        String output = ExternalTool.in(directory).okHere(seconds + 600L, command.toArray(String[]::new));
        return FioResult.parse(output);
    }

    /** Each server on a loopback address of its own, on NBD's port. */
    private final InetSocketAddress soloAddress = LoopbackAddresses.next(LoopbackAddresses.NBD_PORT);
    private final InetSocketAddress qemuAddress = LoopbackAddresses.next(LoopbackAddresses.NBD_PORT);

    private NodeProcess standalone(Path where) throws IOException {
        Files.createDirectories(where);
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("node.id", "solo");
        keys.put("node.data-dir", "solo-data");
        keys.put("nbd.listen", LoopbackAddresses.text(soloAddress));
        keys.put("volume." + VOLUME + ".size", String.valueOf(sizeBytes));
        StringBuilder text = new StringBuilder("# a standalone node: no peer, the unreplicated baseline\n");
        keys.forEach((key, value) -> text.append(key).append(" = ").append(value).append('\n'));
        Path config = where.resolve("solo.properties");
        Files.writeString(config, text, StandardCharsets.UTF_8);
        NodeProcess solo = NodeProcess.start("solo", config, where.resolve("solo.log"), List.of());
        solo.awaitRole(PairRole.PRIMARY, START);
        return solo;
    }

    private ExternalTool.Running qemuNbd(Path image) throws IOException {
        // The same kind of file as our volumes: sparse, the page cache in front (qemu-nbd's default).
        ExternalTool.ok(60, "truncate", "-s", String.valueOf(sizeBytes), image.toString());
        ExternalTool.Running qemu = ExternalTool.in(directory).start("qemu-nbd", "--persistent", "--shared=8",
                "--format=raw", "--export-name=" + VOLUME, "--bind=" + qemuAddress.getAddress().getHostAddress(),
                "--port=" + qemuAddress.getPort(), image.toString());
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            ExternalTool.Result probe = ExternalTool.run(30, "nbdinfo", "--size",
                    "nbd://" + LoopbackAddresses.text(qemuAddress) + "/" + VOLUME);
            if (probe.exit() == 0) {
                return qemu;
            }
            if (!qemu.alive() || System.nanoTime() > deadline) {
                qemu.close();
                throw new IllegalStateException("qemu-nbd did not start: " + qemu.outputSoFar() + probe.output());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for qemu-nbd", e);
            }
        }
    }

    private static NodeEvent awaitState(NodeProcess node, String state) {
        return node.await(event -> event.type().equals("volume") && event.get("volume").orElse("").equals(VOLUME)
                && event.get("to").orElse("").equals(state), START);
    }
}
