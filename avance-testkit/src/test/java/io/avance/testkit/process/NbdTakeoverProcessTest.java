package io.avance.testkit.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.testkit.net.FaultInjectingTcpProxy;
import io.avance.testkit.tools.ExternalTool;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule 7 with a real client: fio writes through NBD to the primary, which is killed with SIGKILL
 * in the middle; after the takeover, every write fio saw acknowledged reads back from the new
 * primary. fio logs each write when it completes (its completion-latency log, with offsets), and
 * writes each block's own offset as its pattern, so every acknowledged block can be checked on its
 * own. The killed node then returns as backup, resynchronises, and both copies end byte-identical,
 * including the blocks it had written locally just before it died that its peer never acknowledged.
 */
class NbdTakeoverProcessTest {

    private static final Duration PAIRING = Duration.ofSeconds(30);
    private static final int BLOCK = 4096;
    private static final long VOLUME_BYTES = 64L << 20;

    @TempDir
    Path directory;

    @Test
    void everyWriteFioSawAcknowledgedReadsBackFromTheNewPrimary() throws Exception {
        LoopbackPair pair = LoopbackPair.in(directory).withNbd().with("volume.data.size", "64MiB").write();
        try (NodeProcess alpha = start(pair, LoopbackPair.ALPHA); NodeProcess beta = start(pair, LoopbackPair.BETA)) {
            alpha.awaitRole(PairRole.PRIMARY, PAIRING);
            beta.awaitRole(PairRole.BACKUP, PAIRING);
            awaitSynced(alpha);

            // One pass over the volume in random order, each block written once, rate-limited so
            // that the kill lands in the middle.
            ExternalTool fio = ExternalTool.in(directory);
            ExternalTool.Result writes;
            long killedAt;
            // fio 3.33's nbd engine can spin forever on a connection reset instead of exiting; a
            // proxy in front of the primary turns the reset of a killed process into an orderly
            // close, which fio handles. (What fio sees acknowledged is unchanged: the proxy only
            // forwards.)
            URI primaryUri = URI.create(pair.nbdUri(LoopbackPair.ALPHA, "data"));
            try (FaultInjectingTcpProxy proxy = new FaultInjectingTcpProxy(
                    new InetSocketAddress(primaryUri.getHost(), primaryUri.getPort()));
                 ExternalTool.Running running = fio.start("fio", "--name=takeover", "--ioengine=nbd",
                    "--uri=nbd://127.0.0.1:" + proxy.port() + "/data", "--rw=randwrite", "--bs=4k", "--iodepth=16",
                    "--size=64m", "--verify=pattern", "--verify_pattern=%o", "--do_verify=0",
                    "--verify_state_save=0", "--write_lat_log=acked", "--log_offset=1", "--log_avg_msec=0",
                    "--rate=6m", "--eta=always", "--eta-newline=1")) {
                running.awaitFioProgress(25.0, Duration.ofSeconds(60));
                killedAt = alpha.kill();
                // Should fio spin all the same, asked to stop it ends its job and writes its logs.
                if (!running.awaitExit(Duration.ofSeconds(10))) {
                    running.terminate();
                }
                writes = running.await(Duration.ofSeconds(60));
            }
            assertNotEquals(0, writes.exit(), "fio should have seen its server die:\n" + writes.output());
            List<Long> acknowledged = acknowledgedOffsets(directory.resolve("acked_clat.1.log"));
            // 64 MiB is 16,384 blocks; a quarter of them at least were written before the kill.
            assertTrue(acknowledged.size() >= 4_000, "fio saw only " + acknowledged.size() + " writes complete:\n"
                    + writes.output());
            beta.awaitAfter(killedAt, event -> event.type().equals("role")
                    && event.get("to").orElse("").equals("PRIMARY"), Duration.ofSeconds(10));

            // Read the whole export back from the new primary with a real client, then check.
            Path readBack = directory.resolve("read-back.img");
            ExternalTool.ok(120, "nbdcopy", pair.nbdUri(LoopbackPair.BETA, "data"), readBack.toString());
            List<Long> missing = missingBlocks(readBack, acknowledged);
            assertEquals(List.of(), missing, missing.size() + " of " + acknowledged.size()
                    + " acknowledged writes are missing on the new primary");

            // The killed node returns, becomes backup and is resynchronised from the new primary.
            try (NodeProcess returning = start(pair, LoopbackPair.ALPHA)) {
                returning.awaitRole(PairRole.BACKUP, PAIRING);
                awaitSynced(returning);
                assertEquals(sha256(volumeFile(pair, LoopbackPair.BETA)), sha256(volumeFile(pair, LoopbackPair.ALPHA)),
                        "the copies differ after the returning node's resync");
            }
            System.out.printf("all %d writes fio saw acknowledged read back from the new primary%n",
                    acknowledged.size());
        }
    }

    /** The offsets in fio's completion log: {@code time, latency, direction, size, offset, priority}. */
    private static List<Long> acknowledgedOffsets(Path log) throws Exception {
        List<Long> offsets = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            String[] fields = line.split(",\\s*");
            if (fields.length >= 5 && fields[2].equals("1")) {
                assertEquals(String.valueOf(BLOCK), fields[3], line);
                offsets.add(Long.parseLong(fields[4]));
            }
        }
        return offsets;
    }

    /** Blocks that do not hold their own offset, little-endian, repeated: fio's {@code %o} pattern. */
    private static List<Long> missingBlocks(Path image, List<Long> offsets) throws Exception {
        assertEquals(VOLUME_BYTES, Files.size(image));
        List<Long> missing = new ArrayList<>();
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer block = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
            for (long offset : offsets) {
                block.clear();
                while (block.hasRemaining() && channel.read(block, offset + block.position()) > 0) {
                    // Read the whole block.
                }
                block.flip();
                boolean intact = block.remaining() == BLOCK;
                while (intact && block.hasRemaining()) {
                    intact = block.getLong() == offset;
                }
                if (!intact) {
                    missing.add(offset);
                }
            }
        }
        return missing;
    }

    private static void awaitSynced(NodeProcess node) {
        node.await(event -> event.type().equals("volume") && event.get("volume").orElse("").equals("data")
                && event.get("to").orElse("").equals("SYNCED"), PAIRING);
    }

    private static NodeProcess start(LoopbackPair pair, String node) {
        return NodeProcess.start(node, pair.configOf(node), pair.directory().resolve(node + ".log"), List.of());
    }

    private static Path volumeFile(LoopbackPair pair, String node) {
        return pair.dataOf(node).resolve("volumes").resolve("data.img");
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            while (channel.read(buffer) > 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
