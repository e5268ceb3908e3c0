package io.avance.core.admin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Function;

/**
 * Serves one-line requests on a Unix domain socket: the client sends a line, the server answers
 * with lines and closes the connection. The first answer line is {@code ok} or {@code error:
 * message}; the rest is the body. Each connection is served on a thread of its own (a few at most),
 * so a client that never sends its line holds up nobody else.
 *
 * <pre>
 * $ avance status --config alpha.properties      (connects to alpha-data/admin.sock)
 * </pre>
 *
 * <p>Requests are bounded (4 KiB). Thread-safe.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger LOG = System.getLogger(AdminServer.class.getName());
    private static final int MAX_REQUEST = 4096;
    private static final int MAX_CLIENTS = 8;

    /** What a request does: its answer, or an exception whose message becomes the error. */
    @FunctionalInterface
    public interface Handler extends Function<String, String> {
    }

    private final Path socket;
    private final Handler handler;
    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile boolean closed;
    private final java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(MAX_CLIENTS);

    /**
     * Binds the socket (replacing a stale one left by a crashed node) and starts serving.
     *
     * @param socket  the socket file
     * @param handler answers requests
     * @param name    for the thread name
     * @throws UncheckedIOException if the socket cannot be bound
     */
    public AdminServer(Path socket, Handler handler, String name) {
        this.socket = socket;
        this.handler = handler;
        try {
            Files.createDirectories(socket.toAbsolutePath().getParent());
            // The node holds the data directory's lock: a socket file there is a dead node's.
            Files.deleteIfExists(socket);
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            try {
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                LOG.log(Level.DEBUG, "no POSIX permissions for {0}", socket);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the administration socket " + socket, e);
        }
        thread = new Thread(this::serve, "avance-admin-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** @return the socket's path */
    public Path socket() {
        return socket;
    }

    private void serve() {
        while (!closed) {
            SocketChannel accepted;
            try {
                accepted = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "administration socket accept failed: {0}", e.getMessage());
                }
                return;
            }
            if (!slots.tryAcquire()) {
                try {
                    accepted.close();
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "closing a refused client", e);
                }
                continue;
            }
            Thread worker = new Thread(() -> {
                try {
                    answer(accepted);
                } finally {
                    slots.release();
                }
            }, thread.getName() + "-client");
            worker.setDaemon(true);
            worker.start();
        }
    }

    private void answer(SocketChannel accepted) {
        try (SocketChannel client = accepted) {
            String request = readLine(client);
            String answer;
            try {
                answer = "ok\n" + handler.apply(request.trim());
            } catch (RuntimeException e) {
                answer = "error: " + String.valueOf(e.getMessage()).replace('\n', ' ') + "\n";
            }
            if (!answer.endsWith("\n")) {
                answer += "\n";
            }
            ByteBuffer out = ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                client.write(out);
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.log(Level.DEBUG, "administration client failed: {0}", e.getMessage());
            }
        }
    }

    private static String readLine(SocketChannel client) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST);
        while (in.hasRemaining()) {
            int read = client.read(in);
            if (read < 0) {
                break;
            }
            for (int i = in.position() - read; i < in.position(); i++) {
                if (in.get(i) == '\n') {
                    return new String(in.array(), 0, i, StandardCharsets.UTF_8);
                }
            }
        }
        return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
    }

    /**
     * Sends one request to a node's socket and returns its answer.
     *
     * @param socket  the socket file
     * @param request the request line
     * @return the answer's body
     * @throws IllegalStateException with the node's error, or saying no node listens there
     */
    public static String request(Path socket, String request) {
        if (!Files.exists(socket)) {
            throw new IllegalStateException("no node is running with this data directory (" + socket
                    + " does not exist)");
        }
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                channel.write(out);
            }
            java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (channel.read(in) >= 0) {
                answer.write(in.array(), 0, in.position());
                in.clear();
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            if (text.startsWith("ok\n")) {
                return text.substring(3);
            }
            throw new IllegalStateException(text.startsWith("error: ") ? text.substring(7).trim()
                    : "unexpected answer: " + text);
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach the node at " + socket + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the administration socket", e);
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "removing the administration socket", e);
        }
    }
}
