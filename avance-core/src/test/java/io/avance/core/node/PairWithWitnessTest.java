package io.avance.core.node;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.core.config.NodeConfig;
import io.avance.core.time.NanoClock;
import io.avance.core.witness.WitnessServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pair with a real quorum witness on loopback: a takeover goes through the witness's grant. */
class PairWithWitnessTest {

    @TempDir
    Path directory;

    @Test
    void theBackupTakesOverWithTheWitnessesGrant() throws Exception {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 5);
        try (WitnessServer witness = new WitnessServer(new InetSocketAddress("127.0.0.1", 0), secret,
                directory.resolve("witness"), NanoClock.system(), 5_000_000_000L)) {
            int[] tcp = {TwoNodesOnLoopbackTest.freeTcpPort(), TwoNodesOnLoopbackTest.freeTcpPort()};
            int[] udp = {TwoNodesOnLoopbackTest.freeUdpPort(), TwoNodesOnLoopbackTest.freeUdpPort()};
            NodeConfig a = config("a", "b", tcp[0], tcp[1], udp[0], udp[1], secret, witness.address());
            NodeConfig b = config("b", "a", tcp[1], tcp[0], udp[1], udp[0], secret, witness.address());
            try (AvanceNode nodeA = AvanceNode.builder(a).build(); AvanceNode nodeB = AvanceNode.builder(b).build()) {
                nodeA.start();
                nodeB.start();
                await(() -> nodeA.role() == PairRole.PRIMARY && nodeB.role() == PairRole.BACKUP, "no pairing");
                nodeA.close();
                await(() -> nodeB.role() == PairRole.PRIMARY, "no takeover");
                assertTrue(nodeB.mayServe());
                // The role is visible a moment before the audit entry is queued.
                await(() -> nodeB.journal().readLines().stream().anyMatch(line -> line.contains("the witness granted")),
                        "the takeover did not go through the witness");
            }
        }
    }

    private NodeConfig config(String self, String peer, int listen, int peerPort, int udpBind, int udpPeer,
                              byte[] secret, InetSocketAddress witness) {
        return TwoNodesOnLoopbackTest.loopback(directory, self, peer, listen, peerPort, udpBind, udpPeer, secret)
                .witness(witness).build();
    }

    private static void await(BooleanSupplier condition, String failure) throws InterruptedException {
        TwoNodesOnLoopbackTest.await(condition, java.time.Duration.ofSeconds(15), failure);
    }
}
