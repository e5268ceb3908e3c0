package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.process.LoopbackPair;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code avance bench migration}: live migration of a guest whose memory is all in use (filled with
 * random bytes at boot), at several dirty rates, by a switchover between two node processes on
 * loopback; next to the raw TCP throughput of the same loopback, measured in the same run.
 */
final class MigrationBench {

    private static final Duration STEP = Duration.ofSeconds(120);

    private final Path directory;
    private final long memoryBytes;
    private final List<Long> ratesMiB;

    MigrationBench(Path directory, long memoryBytes, List<Long> ratesMiB) {
        this.directory = directory;
        this.memoryBytes = memoryBytes;
        this.ratesMiB = ratesMiB;
    }

    private record Row(long rateMiB, long totalMillis, double pauseMillis, long bytes, int rounds) {
    }

    int run() throws Exception {
        System.out.printf("Live migration of a %d MiB guest (memory filled with random bytes) by switchover, on%n"
                + "loopback, node processes alpha and beta; pause target 50 ms, at most 30 rounds.%n", memoryBytes >> 20);
        double raw = rawTcpBytesPerSecond(1L << 30);
        System.out.printf("raw TCP on this loopback (1 GiB, one connection): %.2f GB/s%n", raw / 1e9);
        List<Row> rows = new ArrayList<>();
        for (long rate : ratesMiB) {
            rows.add(migrate(rate));
            System.out.printf("  dirtying %3d MiB/s: %s%n", rate, describe(rows.get(rows.size() - 1)));
        }
        double rawAfter = rawTcpBytesPerSecond(1L << 30);
        System.out.printf("raw TCP again, after the migrations: %.2f GB/s%n", rawAfter / 1e9);
        System.out.printf("%n| Dirty rate | Total | Pause | Bytes sent / memory | Rounds | Effective rate / raw TCP |%n");
        System.out.printf("|---|---|---|---|---|---|%n");
        double meanRaw = (raw + rawAfter) / 2;
        for (Row row : rows) {
            double effective = memoryBytes * 1e3 / Math.max(1, row.totalMillis());
            System.out.printf(Locale.ROOT, "| %d MiB/s | %.2f s | %.1f ms | %.2f | %d | %.2f |%n", row.rateMiB(),
                    row.totalMillis() / 1e3, row.pauseMillis(), (double) row.bytes() / memoryBytes, row.rounds(),
                    effective / meanRaw);
        }
        return 0;
    }

    private static String describe(Row row) {
        return String.format(Locale.ROOT, "%d ms in all, paused %.1f ms, %d rounds, %.1f MiB sent", row.totalMillis(),
                row.pauseMillis(), row.rounds(), row.bytes() / 1048576.0);
    }

    private Row migrate(long rateMiB) throws Exception {
        Path where = directory.resolve("rate-" + rateMiB);
        LoopbackPair configured = LoopbackPair.in(where)
                .with("hypervisor", "simulated")
                .with("volume.vm1-disk.size", "64MiB")
                .with("vm.vm1.memory", String.valueOf(memoryBytes))
                .with("vm.vm1.disks", "vm1-disk")
                .with("vm.vm1.option.sim.program", "kv")
                .with("vm.vm1.option.sim.fill", "random")
                .with("vm.vm1.option.sim.dirty-rate", rateMiB + "MiB");
        try (Workspace pair = new Workspace(List.of(), configured)) {
            NodeProcess alpha = pair.start(LoopbackPair.ALPHA);
            NodeProcess beta = pair.start(LoopbackPair.BETA);
            alpha.awaitRole(PairRole.PRIMARY, STEP);
            beta.awaitRole(PairRole.BACKUP, STEP);
            alpha.await(event -> event.type().equals("vm") && event.get("to").orElse("").equals("RUNNING"), STEP);
            alpha.await(event -> event.type().equals("volume") && event.get("to").orElse("").equals("SYNCED"), STEP);
            long asked = System.nanoTime();
            while (true) {
                long at = System.nanoTime();
                alpha.command("switchover");
                String result = alpha.awaitAfter(at, event -> event.type().equals("switchover"), STEP)
                        .get("result").orElse("");
                if (result.equals("started")) {
                    break;
                }
                // Refusals that pass: the backup still resynchronising, the VM still finishing its boot.
                boolean passing = result.contains("data is") || result.contains("is STARTING");
                if (!passing || System.nanoTime() - asked > STEP.toNanos()) {
                    throw new IllegalStateException("the switchover was refused: " + result);
                }
                Thread.sleep(50);
            }
            NodeEvent migration = alpha.awaitAfter(asked, event -> event.type().equals("migration"), STEP);
            if (!migration.get("outcome").orElse("").equals("COMPLETED")) {
                throw new IllegalStateException("the migration did not complete: " + migration);
            }
            beta.awaitAfter(asked, event -> Workspace.isRole(event, PairRole.PRIMARY), STEP);
            return new Row(rateMiB, Long.parseLong(migration.get("totalMs").orElse("0")),
                    Long.parseLong(migration.get("pauseUs").orElse("0")) / 1000.0,
                    Long.parseLong(migration.get("bytes").orElse("0")),
                    Integer.parseInt(migration.get("rounds").orElse("0")));
        }
    }

    /** One TCP connection on loopback, 1 MiB writes, the reader discarding: what the link can carry. */
    static double rawTcpBytesPerSecond(long bytes) throws IOException, InterruptedException {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread reader = new Thread(() -> {
                try (SocketChannel in = server.accept()) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                    while (in.read(buffer) >= 0) {
                        buffer.clear();
                    }
                } catch (IOException e) {
                    // The writer's end closed.
                }
            }, "raw-tcp-reader");
            reader.start();
            long started;
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                started = System.nanoTime();
                for (long sent = 0; sent < bytes; sent += buffer.capacity()) {
                    buffer.clear();
                    while (buffer.hasRemaining()) {
                        out.write(buffer);
                    }
                }
            }
            reader.join();
            return bytes * 1e9 / (System.nanoTime() - started);
        }
    }
}
