package io.avance.core.monitor;

import io.avance.core.time.NanoClock;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks the requests one node's monitor sends the other's, so that an action taken
 * on the backup's monitor runs on the primary as the same user. Both nodes hold the pairing
 * secret; the key is derived from it (HMAC-SHA256 of a fixed label), so the monitor never uses
 * the private link's key itself.
 *
 * <p>A signature covers the method, path, time, a random nonce, the user, the role and the body.
 * A request is accepted once: its time must be within 30 s of this node's clock and its nonce
 * unseen in the last minute. Responses are signed over the request's nonce, the status and the
 * body, so that a man in the middle cannot forge an outcome either. Thread-safe.
 */
final class PeerSigner {

    static final long WINDOW_MILLIS = TimeUnit.SECONDS.toMillis(30);

    private final byte[] key;
    private final Clock wallClock;
    private final NanoClock clock;
    private final Map<String, Long> seen = new LinkedHashMap<>();

    PeerSigner(byte[] pairingSecret, Clock wallClock, NanoClock clock) {
        this.key = hmac(pairingSecret, "avance-monitor-peer-v1".getBytes(StandardCharsets.UTF_8));
        this.wallClock = Objects.requireNonNull(wallClock);
        this.clock = Objects.requireNonNull(clock);
    }

    String sign(String... fields) {
        return Base64.getEncoder().encodeToString(hmac(key, String.join("\n", fields).getBytes(StandardCharsets.UTF_8)));
    }

    boolean matches(String signature, String... fields) {
        return signature != null && MessageDigest.isEqual(sign(fields).getBytes(StandardCharsets.UTF_8),
                signature.getBytes(StandardCharsets.UTF_8));
    }

    /** Checks a request's freshness and remembers its nonce; true if it may be accepted. */
    synchronized boolean fresh(String time, String nonce) {
        long sent;
        try {
            sent = Long.parseLong(time);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(wallClock.millis() - sent) > WINDOW_MILLIS || nonce == null || nonce.length() < 16) {
            return false;
        }
        long now = clock.nanoTime();
        seen.values().removeIf(at -> now - at > 2 * TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS));
        return seen.putIfAbsent(nonce, now) == null;
    }

    long nowMillis() {
        return wallClock.millis();
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }
}
