package io.avance.testkit.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.testkit.net.FaultInjectingTcpProxy;
import io.avance.testkit.tools.ExternalTool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule 6 as a client of the disks sees it: with only the private link cut (the public network
 * still carries heartbeats) and fio writing to the primary through NBD, the writes stall no longer
 * than the pair's own failure detection takes to judge the link down plus the degraded fence, then
 * go on without the backup. The acknowledgement timeout is set far beyond the run, so that it
 * cannot be what releases them.
 */
class PrivateLinkCutProcessTest {

    private static final Duration PAIRING = Duration.ofSeconds(30);
    /**
     * Generous for a loaded 2-core machine: the detection minimum (0.5 s) and the fence (one
     * heartbeat round trip over the public network) take about 0.6 s. Before the volumes went by
     * the pair's failure detection, writes waited out the whole acknowledgement timeout (30 s).
     */
    private static final long LONGEST_STALL_MILLIS = 5_000;
    private static final int RUN_SECONDS = 12;

    @TempDir
    Path directory;

    @Test
    void writesGoOnWithoutTheBackupSoonAfterThePrivateLinkIsCut() throws Exception {
        LoopbackPair pair = LoopbackPair.in(directory).withNbd().with("volume.data.size", "64MiB")
                .with("replication.ack-timeout", "120s");
        try (FaultInjectingTcpProxy link = new FaultInjectingTcpProxy(pair.privateAddress(LoopbackPair.BETA))) {
            pair.alphaDials(link.address()).write();
            try (NodeProcess alpha = start(pair, LoopbackPair.ALPHA);
                 NodeProcess beta = start(pair, LoopbackPair.BETA)) {
                alpha.awaitRole(PairRole.PRIMARY, PAIRING);
                beta.awaitRole(PairRole.BACKUP, PAIRING);
                alpha.await(event -> event.type().equals("volume") && event.get("to").orElse("").equals("SYNCED"),
                        PAIRING);
                ExternalTool.Result writes;
                long cutAt;
                try (ExternalTool.Running fio = ExternalTool.in(directory).start("fio", "--name=cut",
                        "--ioengine=nbd", "--uri=" + pair.nbdUri(LoopbackPair.ALPHA, "data"), "--rw=randwrite",
                        "--bs=4k", "--iodepth=1", "--size=64m", "--time_based", "--runtime=" + RUN_SECONDS,
                        "--rate_iops=400", "--write_lat_log=cut", "--log_avg_msec=0", "--eta=always",
                        "--eta-newline=1")) {
                    fio.awaitFioProgress(25.0, Duration.ofSeconds(60));
                    cutAt = System.nanoTime();
                    link.partition();
                    writes = fio.await(Duration.ofSeconds(RUN_SECONDS + 60));
                }
                assertEquals(0, writes.exit(), "fio failed:\n" + writes.output());
                alpha.awaitAfter(cutAt, event -> event.type().equals("volume")
                        && event.get("to").orElse("").equals("DEGRADED"), Duration.ofSeconds(10));
                List<Long> completions = completionMillis(directory.resolve("cut_clat.1.log"));
                long longest = 0;
                long before = 0;
                for (int i = 1; i < completions.size(); i++) {
                    long gap = completions.get(i) - completions.get(i - 1);
                    if (gap > longest) {
                        longest = gap;
                        before = completions.get(i - 1);
                    }
                }
                System.out.printf("private link cut under fio at 400 writes/s: the longest stall was %d ms%n",
                        longest);
                long last = completions.get(completions.size() - 1);
                assertTrue(last >= (RUN_SECONDS - 1) * 1000L, "the writes did not go on to the end of the run: the"
                        + " last completed at " + last + " ms");
                // Writes waiting for the backup cannot go on before the pair has judged the link down
                // (the detection minimum, 500 ms): a shorter longest stall would mean the cut never
                // reached the writes, and this test tested nothing.
                assertTrue(longest >= 400, "no stall the cut could have caused: the longest was " + longest
                        + " ms at " + before + " ms into the run");
                assertTrue(longest <= LONGEST_STALL_MILLIS, "writes stalled for " + longest + " ms at " + before
                        + " ms into the run, more than " + LONGEST_STALL_MILLIS + " ms");
                assertEquals(PairRole.PRIMARY, alpha.role(), "the primary keeps serving (rule 6)");
            }
        }
    }

    /**
     * A peer that lost power comes back without the connections it had: this node's side of them
     * stays open (half open) until one of its retransmissions reaches the peer's new kernel, after
     * minutes of backoff, or for good if something on the way still holds them, as the proxy does
     * here. The private link must not wait for that: it drops every session once the link has been
     * silent for the detection minimum, and dials the returning peer afresh. Before it did, only
     * the data channels were dropped; the control channel stayed on the stranded connection, the
     * private path stayed down while the peer ran, and the primary rebooted the returning backup and
     * then declared it down (the Xen pair stage met it after a power cut).
     */
    @Test
    void aPeerBackFromAPowerCutIsReachedAgainOnThePrivateLink() throws Exception {
        LoopbackPair pair = LoopbackPair.in(directory).with("volume.data.size", "16MiB");
        try (FaultInjectingTcpProxy link = new FaultInjectingTcpProxy(pair.privateAddress(LoopbackPair.BETA))) {
            pair.alphaDials(link.address()).write();
            try (NodeProcess alpha = start(pair, LoopbackPair.ALPHA);
                 NodeProcess beta = start(pair, LoopbackPair.BETA)) {
                alpha.awaitRole(PairRole.PRIMARY, PAIRING);
                beta.awaitRole(PairRole.BACKUP, PAIRING);
                alpha.await(event -> volumeTo(event, "SYNCED"), PAIRING);
                long cutAt = System.nanoTime();
                link.strandOpenConnections();
                beta.kill();
                alpha.awaitAfter(cutAt, event -> privatePath(event, false), Duration.ofSeconds(10));
                alpha.awaitAfter(cutAt, event -> volumeTo(event, "DEGRADED"), Duration.ofSeconds(10));
                long returnedAt = System.nanoTime();
                try (NodeProcess returned = NodeProcess.start(LoopbackPair.BETA, pair.configOf(LoopbackPair.BETA),
                        directory.resolve("beta-returned.log"), List.of())) {
                    returned.awaitRole(PairRole.BACKUP, PAIRING);
                    alpha.awaitAfter(returnedAt, event -> privatePath(event, true), PAIRING);
                    alpha.awaitAfter(returnedAt, event -> volumeTo(event, "SYNCED"), PAIRING);
                    assertTrue(alpha.events().stream().noneMatch(event -> event.atNanos() >= returnedAt
                                    && event.type().equals("decision")
                                    && event.get("action").orElse("").equals("DECLARE_BACKUP_DOWN")),
                            "the returning backup was declared down: " + alpha.events());
                    assertEquals(PairRole.PRIMARY, alpha.role());
                }
            }
        }
    }

    private static boolean privatePath(NodeEvent event, boolean alive) {
        return event.type().equals("path") && event.get("path").orElse("").equals("private")
                && event.get("alive").orElse("").equals(Boolean.toString(alive));
    }

    private static boolean volumeTo(NodeEvent event, String state) {
        return event.type().equals("volume") && event.get("to").orElse("").equals(state);
    }

    /** The completion times in fio's latency log: {@code time (ms), latency, direction, size, ...}. */
    private static List<Long> completionMillis(Path log) throws Exception {
        List<Long> times = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            String[] fields = line.split(",\\s*");
            if (fields.length >= 4 && fields[2].equals("1")) {
                times.add(Long.parseLong(fields[0]));
            }
        }
        assertTrue(times.size() > 1000, "fio logged only " + times.size() + " writes");
        return times;
    }

    private static NodeProcess start(LoopbackPair pair, String node) {
        return NodeProcess.start(node, pair.configOf(node), pair.directory().resolve(node + ".log"), List.of());
    }
}
