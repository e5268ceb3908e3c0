package io.avance.testkit.tools;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free loopback ports for tests that must know a port before something binds it (a pair's
 * configuration names both nodes' ports).
 *
 * <p>Ports come from below Linux's ephemeral range (32768-60999): a port taken from that range
 * with {@code new ServerSocket(0)} can be handed, a moment later, to some process's outgoing
 * connection as its local port, and the test that meant to listen on it fails with "address
 * already in use". Below the range only listeners compete: each JVM starts at a random place and
 * never hands a port out twice, and a port is given only if both TCP and UDP can bind it now.
 * Thread-safe.
 */
public final class Ports {

    private static final int FIRST = 20_000;
    private static final int END = 32_000;
    private static final AtomicInteger NEXT = new AtomicInteger(
            FIRST + ThreadLocalRandom.current().nextInt(END - FIRST));

    private Ports() {
    }

    /**
     * A port free for TCP and UDP on 127.0.0.1 now, never handed out before by this JVM.
     *
     * @return the port
     * @throws IllegalStateException if none is free
     */
    public static int free() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        for (int attempt = 0; attempt < END - FIRST; attempt++) {
            int port = FIRST + Math.floorMod(NEXT.getAndIncrement() - FIRST, END - FIRST);
            try (ServerSocket tcp = new ServerSocket()) {
                tcp.bind(new InetSocketAddress(loopback, port));
                try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, port))) {
                    return port;
                }
            } catch (IOException e) {
                // Taken: try the next.
            }
        }
        throw new IllegalStateException("no free port in " + FIRST + "-" + END);
    }
}
