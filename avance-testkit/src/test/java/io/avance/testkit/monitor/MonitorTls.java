package io.avance.testkit.monitor;

import io.avance.core.operations.Operations;
import java.net.http.HttpClient;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** HTTP clients for the monitor tests, trusting only the monitor's own certificate. */
final class MonitorTls {

    private MonitorTls() {
    }

    /**
     * An HTTP client that trusts the certificate the node's monitor serves.
     *
     * @param operations the node's operations, with a monitor
     * @return the client
     * @throws Exception if the trust store cannot be used
     */
    static HttpClient trusting(Operations operations) throws Exception {
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(operations.monitor().orElseThrow().tls().trustStore());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
    }
}
