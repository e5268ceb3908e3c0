package io.avance.testkit.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback that forwards every connection to a target and can break the link the
 * way real networks break.
 *
 * <ul>
 *   <li>{@link #partition()}: a cut cable. Bytes stop flowing both ways; open connections stay
 *       open (no FIN, no RST), so the endpoints learn of it only through their own timeouts. New
 *       connections are accepted but not forwarded. {@link #heal()} lets the held bytes flow.</li>
 *   <li>{@link #resetAll()}: every open connection is reset at once (a crashed switch).</li>
 *   <li>{@link #strandOpenConnections()}: the target lost power. Its open connections go silent
 *       for good, never closed (not even when the target's side closes): half open, as they are
 *       for a peer whose machine went away. New connections reach whatever listens at the target
 *       now.</li>
 *   <li>{@link #delay(long)}: each chunk of bytes waits this long before it is forwarded.</li>
 * </ul>
 * Thread-safe; each connection uses two pump threads.
 */
public final class FaultInjectingTcpProxy implements AutoCloseable {

    private static final Logger LOG = System.getLogger(FaultInjectingTcpProxy.class.getName());

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Set<Socket> stranded = ConcurrentHashMap.newKeySet();
    private final Object gate = new Object();
    private final AtomicLong forwardedBytes = new AtomicLong();
    private volatile boolean partitioned;
    private volatile long delayNanos;
    private volatile boolean closed;

    /**
     * Starts a proxy on an ephemeral loopback port.
     *
     * @param target where connections go
     * @throws IOException if the port cannot be opened
     */
    public FaultInjectingTcpProxy(InetSocketAddress target) throws IOException {
        this(0, target);
    }

    /**
     * Starts a proxy on a given loopback port.
     *
     * @param port   the port to listen on (0 for any)
     * @param target where connections go
     * @throws IOException if the port cannot be opened
     */
    public FaultInjectingTcpProxy(int port, InetSocketAddress target) throws IOException {
        this.target = target;
        this.server = new ServerSocket();
        this.server.setReuseAddress(true);
        this.server.bind(new InetSocketAddress("127.0.0.1", port));
        this.acceptor = new Thread(this::acceptLoop, "proxy-accept-" + server.getLocalPort());
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    /** @return the port clients connect to */
    public int port() {
        return server.getLocalPort();
    }

    /** @return the address clients connect to */
    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port());
    }

    /** @return bytes forwarded so far, both ways */
    public long forwardedBytes() {
        return forwardedBytes.get();
    }

    /** Stops all bytes, both ways, without closing anything. */
    public void partition() {
        partitioned = true;
        LOG.log(Level.INFO, "proxy {0}: partitioned", port());
    }

    /** Lets bytes flow again, the held ones first. */
    public void heal() {
        synchronized (gate) {
            partitioned = false;
            gate.notifyAll();
        }
        LOG.log(Level.INFO, "proxy {0}: healed", port());
    }

    /** @return whether the link is partitioned */
    public boolean partitioned() {
        return partitioned;
    }

    /** @param nanos the delay applied to each chunk of bytes */
    public void delay(long nanos) {
        this.delayNanos = nanos;
    }

    /**
     * Strands every open connection: from now on none of them carries a byte either way, and none
     * is closed toward the client, whatever the target does (a target that lost power). Connections
     * made later are forwarded as usual.
     */
    public void strandOpenConnections() {
        stranded.addAll(sockets);
        LOG.log(Level.INFO, "proxy {0}: {1} open sockets stranded", port(), stranded.size());
    }

    /** Resets every open connection. */
    public void resetAll() {
        for (Socket socket : sockets) {
            try {
                socket.setSoLinger(true, 0);
                socket.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "reset", e);
            }
        }
        sockets.clear();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "proxy accept failed", e);
                }
                return;
            }
            Thread connector = new Thread(() -> connect(client), "proxy-connect-" + port());
            connector.setDaemon(true);
            connector.start();
        }
    }

    private void connect(Socket client) {
        sockets.add(client);
        try {
            awaitFlow();
            Socket upstream = new Socket();
            upstream.connect(target, 5_000);
            upstream.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            sockets.add(upstream);
            pump(client, upstream, "up");
            pump(upstream, client, "down");
        } catch (IOException | InterruptedException e) {
            closeQuietly(client);
        }
    }

    private void pump(Socket from, Socket to, String direction) {
        Thread pump = new Thread(() -> {
            byte[] buffer = new byte[64 * 1024];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    // A partition holds bytes in the kernel buffers: stop reading first.
                    awaitFlow();
                    int read = in.read(buffer);
                    if (strandedEither(from, to)) {
                        awaitClose();
                        return;
                    }
                    if (read < 0) {
                        break;
                    }
                    long delay = delayNanos;
                    if (delay > 0) {
                        TimeUnit.NANOSECONDS.sleep(delay);
                    }
                    awaitFlow();
                    out.write(buffer, 0, read);
                    out.flush();
                    forwardedBytes.addAndGet(read);
                }
                to.shutdownOutput();
            } catch (SocketException e) {
                if (!strandedEither(from, to)) {
                    closeQuietly(to);
                }
            } catch (IOException | InterruptedException e) {
                if (!strandedEither(from, to)) {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }
        }, "proxy-" + direction + "-" + port());
        pump.setDaemon(true);
        pump.start();
    }

    private boolean strandedEither(Socket from, Socket to) {
        return stranded.contains(from) || stranded.contains(to);
    }

    /** What a stranded connection's pumps do: nothing, until the proxy closes. */
    private void awaitClose() throws InterruptedException {
        synchronized (gate) {
            while (!closed) {
                gate.wait();
            }
        }
    }

    private void awaitFlow() throws InterruptedException {
        synchronized (gate) {
            while (partitioned && !closed) {
                gate.wait();
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        heal();
        closeQuietly(new Socket());
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "close", e);
        }
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }
}
