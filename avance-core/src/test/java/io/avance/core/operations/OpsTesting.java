package io.avance.core.operations;

import io.avance.core.config.NodeConfig;
import io.avance.core.config.OperationsConfig;
import io.avance.core.monitor.TlsMaterial;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.http.HttpClient;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Helpers shared by the operations tests. */
public final class OpsTesting {

    private OpsTesting() {
    }

    /** A standalone node's configuration with operations settings. */
    public static NodeConfig standalone(Path directory, String id, OperationsConfig operations) {
        return NodeConfig.builder(id).dataDirectory(directory.resolve(id)).operations(operations).build();
    }

    /** Polls a condition until it holds or the deadline passes. */
    public static void await(BooleanSupplier condition, Duration limit, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(failure.get());
            }
            Thread.sleep(20);
        }
    }

    /** An HTTP client that trusts one server's certificate (and checks its name). */
    public static HttpClient trusting(TlsMaterial tls) {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(tls.trustStore());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return HttpClient.newBuilder().sslContext(context).followRedirects(HttpClient.Redirect.NEVER)
                    .connectTimeout(Duration.ofSeconds(5)).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A loopback TCP port held for a server that starts later: bound (so nothing else can take
     * it) but not listening (so connections to it are refused, as to a server that is down). The
     * server binds it too, with {@code SO_REUSEADDR} as Java's server sockets set on Linux, which
     * Linux allows while no socket on the port listens; then the hold is closed.
     */
    public static final class PortHold implements AutoCloseable {
        private final SocketChannel socket;

        private PortHold(SocketChannel socket) {
            this.socket = socket;
        }

        /**
         * Holds a port of the kernel's choosing on 127.0.0.1.
         *
         * @return the hold
         */
        public static PortHold open() {
            try {
                SocketChannel socket = SocketChannel.open();
                socket.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                socket.bind(new InetSocketAddress("127.0.0.1", 0));
                return new PortHold(socket);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** @return the held port */
        public int port() {
            return socket.socket().getLocalPort();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
