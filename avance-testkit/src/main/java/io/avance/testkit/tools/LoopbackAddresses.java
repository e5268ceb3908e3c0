package io.avance.testkit.tools;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loopback addresses of their own for the hosts of a test: each node of a pair, each guest's
 * service, gets an address in 127.0.0.0/8 that nothing else on the machine binds, and listens on a
 * fixed port there.
 *
 * <p>Why not port 0: a node must listen on the same ports across its restarts (its peer's
 * configuration names them, and a test restarts nodes), and a guest's service on the same
 * address after it moves to the other node. Why not a port probed now and bound later: another
 * process can take it in between, whatever range it comes from. An address of its own cannot be
 * taken that way: Linux routes all of 127.0.0.0/8 to the loopback interface, outgoing
 * connections take their local address from 127.0.0.1, and nothing else binds 127.B.C.D. Each
 * JVM starts at a random B.C (one of 57,344) and hands out each address once.
 *
 * <p>Thread-safe.
 */
public final class LoopbackAddresses {

    /** The private link's port on a node's own address. */
    public static final int PRIVATE_PORT = 7701;
    /** The public network's heartbeat port (UDP) on a node's own address. */
    public static final int PUBLIC_PORT = 7702;
    /** The NBD export's port on a node's own address (NBD's registered port). */
    public static final int NBD_PORT = 10809;
    /** The monitor's port on a node's own address. */
    public static final int MONITOR_PORT = 7703;
    /** A guest service's port on the guest's own address. */
    public static final int SERVICE_PORT = 7700;

    /** 127.16.0.0 to 127.239.255.255: clear of 127.0.0.0/16, where other software puts its hosts. */
    private static final int FIRST_BLOCK = 16 << 8;
    private static final int BLOCKS = 224 << 8;
    private static final int HOSTS_PER_BLOCK = 254;
    private static final AtomicInteger NEXT = new AtomicInteger(
            new SecureRandom().nextInt(BLOCKS) * HOSTS_PER_BLOCK);

    private LoopbackAddresses() {
    }

    /**
     * A loopback address that no other caller gets.
     *
     * @return such as 127.93.14.7
     */
    public static InetAddress next() {
        int index = Math.floorMod(NEXT.getAndIncrement(), BLOCKS * HOSTS_PER_BLOCK);
        int block = FIRST_BLOCK + index / HOSTS_PER_BLOCK;
        int host = 1 + index % HOSTS_PER_BLOCK;
        try {
            return InetAddress.getByAddress(new byte[] {127, (byte) (block >>> 8), (byte) block, (byte) host});
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are an IPv4 address", e);
        }
    }

    /**
     * A fixed port on an address of {@link #next()}.
     *
     * @param port the port
     * @return the socket address
     */
    public static InetSocketAddress next(int port) {
        return new InetSocketAddress(next(), port);
    }

    /**
     * The text of an address and port, as configuration files and URIs write it.
     *
     * @param address the address
     * @return such as {@code 127.93.14.7:7701}
     */
    public static String text(InetSocketAddress address) {
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }
}
