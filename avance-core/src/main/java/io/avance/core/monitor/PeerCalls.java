package io.avance.core.monitor;

import io.avance.core.json.FlatJson;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The calls one node's monitor makes to the other's: an action taken on the backup is sent to
 * the primary, signed by {@link PeerSigner}.
 *
 * <p>The TLS connection does not check the peer's certificate (each node's is typically
 * self-signed, and the nodes hold no copy of each other's): TLS gives confidentiality, and the
 * HMAC signatures on the request and on the response give authenticity, so a man in the middle
 * can neither act nor forge an outcome. Stateless.
 */
final class PeerCalls {

    static final String NODE = "X-Avance-Peer";
    static final String TIME = "X-Avance-Time";
    static final String NONCE = "X-Avance-Nonce";
    static final String USER = "X-Avance-User";
    static final String ROLE = "X-Avance-Role";
    static final String SIGNATURE = "X-Avance-Signature";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What the primary answered. */
    record Answer(int status, String outcome) {
    }

    private PeerCalls() {
    }

    static HttpClient client() {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            // An extended trust manager, so that JSSE adds no host-name check of its own either.
            context.init(null, new TrustManager[] {new X509ExtendedTrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String type) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String type) {
                    // Authenticity comes from the signed response, not from the certificate.
                }

                @Override
                public void checkClientTrusted(X509Certificate[] chain, String type, Socket socket) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String type, Socket socket) {
                }

                @Override
                public void checkClientTrusted(X509Certificate[] chain, String type, SSLEngine engine) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String type, SSLEngine engine) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, RANDOM);
            return HttpClient.newBuilder().sslContext(context)
                    .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static Answer post(HttpClient client, PeerSigner signer, URI peer, String self, String path, String user,
                       String role, String body) {
        byte[] random = new byte[16];
        RANDOM.nextBytes(random);
        String nonce = HexFormat.of().formatHex(random);
        String time = String.valueOf(signer.nowMillis());
        HttpRequest request = HttpRequest.newBuilder(peer.resolve("/peer" + path)).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/x-www-form-urlencoded").header(NODE, self).header(TIME, time)
                .header(NONCE, nonce).header(USER, user).header(ROLE, role)
                .header(SIGNATURE, signer.sign("POST", path, time, nonce, self, user, role, body))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try {
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            if (!signer.matches(response.headers().firstValue(SIGNATURE).orElse(null), nonce, "response",
                    String.valueOf(response.statusCode()), response.body())) {
                return new Answer(502, "failed: the primary's answer was not signed by it (" + response.statusCode()
                        + ")");
            }
            String outcome;
            try {
                java.util.Map<String, String> members = FlatJson.parse(response.body());
                outcome = members.getOrDefault("outcome", members.getOrDefault("error", response.body()));
            } catch (IllegalArgumentException e) {
                outcome = response.body();
            }
            return new Answer(response.statusCode(), outcome);
        } catch (IOException e) {
            return new Answer(502, "failed: cannot reach the primary's monitor at " + peer + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(503, "failed: interrupted");
        }
    }
}
