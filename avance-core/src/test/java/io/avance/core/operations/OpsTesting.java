package io.avance.core.operations;

import io.avance.core.config.NodeConfig;
import io.avance.core.config.OperationsConfig;
import io.avance.core.monitor.TlsMaterial;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
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

    /** A TCP port that was free a moment ago. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
