package io.avance.testkit.hypervisor;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kv guest's network endpoint: a listening TCP socket on {@code sim.bind:sim.port} and one
 * thread per client connection, speaking the line protocol of {@link Guest#handle}.
 *
 * <p>The endpoint moves with the VM. {@link #unplug()} (done when the device state is saved for
 * a migration) closes the listening socket and every client connection, so that on loopback the
 * target can bind the same port; clients reconnect and find the VM on its new node, as they would
 * find a migrated VM's address answering from the other server. {@link #plug()} binds again
 * (on the target when the VM is activated, or here when a failed migration resumes the VM).
 *
 * <p>Each plug-in is a new generation: a request read on an older generation's connection and
 * still waiting for the paused guest is dropped when it reaches the guest (the packet was lost
 * with the unplugged NIC), so a VM resumed after a failed migration never answers on a dead
 * connection. Thread-safe.
 */
final class GuestNic {

    /** Handles one request line; returns the reply, or null to drop it. */
    interface Handler {
        /**
         * @param line       the request, without its line end
         * @param generation the plug-in generation the request arrived on
         * @return the reply line, or null if the request is dropped
         */
        String handle(String line, long generation);
    }

    /** The longest request line accepted, in bytes. */
    static final int MAX_LINE = 1024;
    /** The most client connections at once; more are closed at accept. */
    static final int MAX_CONNECTIONS = 64;

    private static final Logger LOG = System.getLogger(GuestNic.class.getName());

    private final String vm;
    private final InetSocketAddress address;
    private final Handler handler;
    private final Object lock = new Object();
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private ServerSocket server;
    private Thread acceptor;
    private long generation;
    private boolean retrying;

    GuestNic(String vm, InetAddress bind, int port, Handler handler) {
        this.vm = vm;
        this.address = new InetSocketAddress(bind, port);
        this.handler = handler;
    }

    /** @return the address the guest listens on */
    InetSocketAddress address() {
        return address;
    }

    /** @return whether the endpoint is bound now */
    boolean plugged() {
        synchronized (lock) {
            return server != null;
        }
    }

    /** @return the current plug-in generation */
    long generation() {
        synchronized (lock) {
            return generation;
        }
    }

    /**
     * Binds the endpoint now.
     *
     * @throws IOException if the address cannot be bound (another process, or the VM's other copy,
     *                     holds the port)
     */
    void plug() throws IOException {
        synchronized (lock) {
            if (server != null) {
                return;
            }
            retrying = false;
            ServerSocket socket = new ServerSocket();
            try {
                // The previous owner of the port (this VM before a migration, on loopback) may have
                // left connections in TIME_WAIT; they must not keep the VM off its own address.
                socket.setReuseAddress(true);
                socket.bind(address, 50);
            } catch (IOException e) {
                socket.close();
                throw new IOException("VM " + vm + " cannot listen on " + address + ": " + e.getMessage(), e);
            }
            server = socket;
            generation++;
            long current = generation;
            acceptor = new Thread(() -> accept(socket, current), "sim-" + vm + "-nic");
            acceptor.setDaemon(true);
            acceptor.start();
        }
    }

    /**
     * Binds the endpoint, retrying in the background every 100 ms while the port is taken, until
     * it binds or {@link #unplug()} is called. Used on resume, which must not fail because a
     * half-built copy of the VM elsewhere is slow to let go of the port.
     */
    void plugInBackground() {
        try {
            plug();
            return;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "{0}: {1}; retrying in the background", vm, e.getMessage());
        }
        synchronized (lock) {
            if (retrying) {
                return;
            }
            retrying = true;
        }
        Thread retry = new Thread(() -> {
            synchronized (lock) {
                while (retrying && server == null) {
                    try {
                        // A retry interval, not a wait for a condition anyone could signal: the
                        // port is freed by another socket, outside this process's knowledge.
                        lock.wait(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (!retrying) {
                        return;
                    }
                    try {
                        plug();
                    } catch (IOException e) {
                        // still taken
                    }
                }
            }
        }, "sim-" + vm + "-nic-retry");
        retry.setDaemon(true);
        retry.start();
    }

    /**
     * Closes the listening socket and every client connection, and stops background retries.
     * Returns when the port is free: the target of a migration may bind it at once.
     */
    void unplug() {
        Thread accepting;
        synchronized (lock) {
            retrying = false;
            lock.notifyAll();
            accepting = acceptor;
            acceptor = null;
            if (server != null) {
                closeQuietly(server);
                server = null;
                generation++;
            }
        }
        // Closing a socket that another thread is accepting on only marks it closed: the kernel
        // keeps listening (and completing handshakes) until that thread leaves accept. Wait for
        // it, so that the port is really released when this returns.
        if (accepting != null && accepting != Thread.currentThread()) {
            try {
                accepting.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (accepting.isAlive()) {
                LOG.log(Level.WARNING, "{0}: the NIC's accept thread did not end; the port may stay busy", vm);
            }
        }
        for (Socket connection : connections) {
            closeQuietly(connection);
        }
        connections.clear();
    }

    private void accept(ServerSocket socket, long acceptedGeneration) {
        int count = 0;
        while (true) {
            Socket client;
            try {
                client = socket.accept();
            } catch (IOException e) {
                return;
            }
            synchronized (lock) {
                if (server != socket || connections.size() >= MAX_CONNECTIONS) {
                    closeQuietly(client);
                    continue;
                }
                connections.add(client);
            }
            Thread connection = new Thread(() -> serve(client, acceptedGeneration),
                    "sim-" + vm + "-conn-" + (++count));
            connection.setDaemon(true);
            connection.start();
        }
    }

    private void serve(Socket client, long acceptedGeneration) {
        try (client) {
            client.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = new BufferedOutputStream(client.getOutputStream());
            byte[] line = new byte[MAX_LINE];
            while (true) {
                int length = 0;
                int b;
                boolean tooLong = false;
                while ((b = in.read()) >= 0 && b != '\n') {
                    if (length == MAX_LINE) {
                        tooLong = true;
                        break;
                    }
                    line[length++] = (byte) b;
                }
                if (tooLong) {
                    out.write(("ERR request longer than " + MAX_LINE + " bytes\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    return;
                }
                if (b < 0) {
                    return;
                }
                if (length > 0 && line[length - 1] == '\r') {
                    length--;
                }
                String reply = handler.handle(new String(line, 0, length, StandardCharsets.US_ASCII),
                        acceptedGeneration);
                if (reply == null) {
                    return;
                }
                out.write(reply.getBytes(StandardCharsets.US_ASCII));
                out.write('\n');
                out.flush();
            }
        } catch (IOException | GuestGate.GuestStoppedException e) {
            // The client left, the NIC was unplugged, or the guest stopped.
        } finally {
            connections.remove(client);
        }
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            // closing for good; nothing to report
        }
    }
}
