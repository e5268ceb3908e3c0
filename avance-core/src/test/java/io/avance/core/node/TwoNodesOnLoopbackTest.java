package io.avance.core.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.PublicPath;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes in one JVM, on real loopback sockets: they pair, elect one primary, and the backup
 * takes over when the primary stops.
 */
class TwoNodesOnLoopbackTest {

    @TempDir
    Path directory;

    @Test
    void pairElectAndTakeOverWhenThePrimaryStops() throws Exception {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 7);
        int[] tcp = {freeTcpPort(), freeTcpPort()};
        int[] udp = {freeUdpPort(), freeUdpPort()};
        NodeConfig a = config("a", "b", tcp[0], tcp[1], udp[0], udp[1], secret);
        NodeConfig b = config("b", "a", tcp[1], tcp[0], udp[1], udp[0], secret);
        try (AvanceNode nodeA = AvanceNode.builder(a).build(); AvanceNode nodeB = AvanceNode.builder(b).build()) {
            nodeA.start();
            nodeB.start();
            await(() -> pairedRoles(nodeA, nodeB), Duration.ofSeconds(10), "the nodes never paired");
            AvanceNode primary = nodeA.role() == PairRole.PRIMARY ? nodeA : nodeB;
            AvanceNode backup = primary == nodeA ? nodeB : nodeA;
            assertEquals("a", primary.id().value(), "the smaller id wins a fresh election");
            assertTrue(primary.mayServe());
            assertTrue(!backup.mayServe());

            primary.close();
            await(() -> backup.role() == PairRole.PRIMARY, Duration.ofSeconds(10), "the backup never took over");
            assertTrue(backup.mayServe());
            long epoch = backup.status().orElseThrow().epoch();
            assertTrue(epoch > 1);

            // The old primary comes back on the same data directory: it reads its persisted epoch,
            // learns of the later one, and rejoins as backup (rule 9).
            try (AvanceNode returning = AvanceNode.builder(primary.config()).build()) {
                returning.start();
                await(() -> returning.role() == PairRole.BACKUP, Duration.ofSeconds(10), "it never rejoined as backup");
                assertEquals(epoch, returning.status().orElseThrow().epoch());
                assertTrue(backup.mayServe());
                assertTrue(!returning.mayServe());
            }
        }
    }

    @Test
    void aSecondProcessCannotUseTheSameDataDirectory() throws Exception {
        byte[] secret = new byte[32];
        NodeConfig a = config("a", "b", freeTcpPort(), freeTcpPort(), freeUdpPort(), freeUdpPort(), secret);
        try (AvanceNode first = AvanceNode.builder(a).build(); AvanceNode second = AvanceNode.builder(a).build()) {
            first.start();
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    second::start);
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    private static boolean pairedRoles(AvanceNode x, AvanceNode y) {
        return (x.role() == PairRole.PRIMARY && y.role() == PairRole.BACKUP)
                || (x.role() == PairRole.BACKUP && y.role() == PairRole.PRIMARY);
    }

    private NodeConfig config(String self, String peer, int listen, int peerPort, int udpBind, int udpPeer,
                              byte[] secret) {
        return loopback(directory, self, peer, listen, peerPort, udpBind, udpPeer, secret).build();
    }

    /** One node of a pair on loopback, with one public network. */
    static NodeConfig.Builder loopback(Path directory, String self, String peer, int listen, int peerPort, int udpBind,
                                       int udpPeer, byte[] secret) {
        return NodeConfig.builder(self)
                .dataDirectory(directory.resolve(self))
                .peer(peer, new InetSocketAddress("127.0.0.1", peerPort))
                .privateListen(new InetSocketAddress("127.0.0.1", listen))
                .publicPath(new PublicPath("lan", new InetSocketAddress("127.0.0.1", udpBind),
                        new InetSocketAddress("127.0.0.1", udpPeer), Optional.empty()))
                .pairingSecret(secret);
    }

    static void await(BooleanSupplier condition, Duration limit, String failure) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failure);
            }
            Thread.sleep(10);
        }
    }

    static int freeTcpPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static int freeUdpPort() throws IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
