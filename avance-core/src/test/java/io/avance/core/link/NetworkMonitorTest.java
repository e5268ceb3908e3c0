package io.avance.core.link;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.PublicPath;
import io.avance.core.health.FaultRegistry;
import io.avance.core.health.HealthConfig;
import io.avance.core.time.NanoClock;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class NetworkMonitorTest {

    private static final long MS = 1_000_000L;

    private final FaultRegistry faults = new FaultRegistry(NodeId.of("n"), NanoClock.system(), Clock.systemUTC(),
            HealthConfig.defaults());

    private static PublicPath path(String name, InetSocketAddress probe) {
        return new PublicPath(name, new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 9),
                Optional.of(probe));
    }

    private boolean down(String network) {
        return faults.score().hasFault(Component.PUBLIC_NETWORK, network, Severity.CRITICAL);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000 * MS;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void anAnswerEvenARefusalMeansTheNetworkWorks() throws Exception {
        // A socket bound but not listening holds its port, and every connection to it is refused.
        try (SocketChannel refusing = SocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             ServerSocket listening = new ServerSocket(0);
             NetworkMonitor monitor = new NetworkMonitor(List.of(
                     path("open", new InetSocketAddress("127.0.0.1", listening.getLocalPort())),
                     path("refusing", (InetSocketAddress) refusing.getLocalAddress())), faults, 20 * MS, 200 * MS,
                     "n")) {
            monitor.sendSucceeded("open");
            // Several probe rounds pass without a fault.
            long until = System.nanoTime() + 300 * MS;
            while (System.nanoTime() < until) {
                assertFalse(down("open") || down("refusing"));
                Thread.sleep(20);
            }
        }
    }

    @Test
    void aProbeThatNeverAnswersMarksTheNetworkDown() throws Exception {
        // A black hole on loopback: a listener that never accepts, its queue full, so that Linux
        // drops further SYNs and a connection attempt times out, as to a dead gateway.
        try (ServerSocket blackHole = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> queued = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    java.net.Socket socket = new java.net.Socket();
                    try {
                        socket.connect(blackHole.getLocalSocketAddress(), 200);
                    } catch (java.net.SocketTimeoutException full) {
                        socket.close();
                        break;
                    }
                    queued.add(socket);
                }
                try (NetworkMonitor monitor = new NetworkMonitor(List.of(path("lan",
                        (InetSocketAddress) blackHole.getLocalSocketAddress())), faults, 20 * MS, 100 * MS, "n")) {
                    await(() -> down("lan"), "the network was never marked down");
                }
            } finally {
                for (java.net.Socket socket : queued) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void failedSendsMarkTheNetworkDownUntilASendSucceedsButOthersFaultsStay() throws Exception {
        try (NetworkMonitor monitor = new NetworkMonitor(List.of(), faults, 20 * MS, 100 * MS, "n")) {
            monitor.sendFailed("lan", "Network is unreachable");
            assertTrue(down("lan"));
            monitor.sendSucceeded("lan");
            assertFalse(down("lan"));

            faults.raise(Fault.of(Component.PUBLIC_NETWORK, "wan", Severity.CRITICAL, "reported by the appliance"));
            monitor.sendFailed("wan", "Network is unreachable");
            monitor.sendSucceeded("wan");
            assertTrue(down("wan"), "the monitor must not clear a fault it did not raise");
        }
    }
}
