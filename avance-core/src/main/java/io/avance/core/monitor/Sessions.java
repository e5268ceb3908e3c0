package io.avance.core.monitor;

import io.avance.core.time.NanoClock;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Logged-in sessions, each with a random token (the cookie), a CSRF token, and an idle timeout.
 * Sessions live in memory: a restarted node logs everybody out, which is what an operator expects
 * of a restarted appliance. Thread-safe.
 */
final class Sessions {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final NanoClock clock;
    private final long idleTimeoutNanos;
    private final Map<String, Session> byToken = new ConcurrentHashMap<>();

    /** One session. {@code lastUsedNanos} moves on every request. */
    static final class Session {
        final String token;
        final String user;
        final Role role;
        final String csrf;
        volatile long lastUsedNanos;

        Session(String token, String user, Role role, String csrf, long now) {
            this.token = token;
            this.user = user;
            this.role = role;
            this.csrf = csrf;
            this.lastUsedNanos = now;
        }

        boolean csrfMatches(String offered) {
            return offered != null && MessageDigest.isEqual(csrf.getBytes(StandardCharsets.UTF_8),
                    offered.getBytes(StandardCharsets.UTF_8));
        }
    }

    Sessions(NanoClock clock, long idleTimeoutNanos) {
        this.clock = Objects.requireNonNull(clock);
        this.idleTimeoutNanos = idleTimeoutNanos;
    }

    Session create(String user, Role role) {
        long now = clock.nanoTime();
        byToken.values().removeIf(session -> now - session.lastUsedNanos > idleTimeoutNanos);
        Session session = new Session(token(), user, role, token(), now);
        byToken.put(session.token, session);
        return session;
    }

    /** Finds a live session and marks it used. */
    Optional<Session> touch(String token) {
        if (token == null) {
            return Optional.empty();
        }
        Session session = byToken.get(token);
        if (session == null) {
            return Optional.empty();
        }
        long now = clock.nanoTime();
        if (now - session.lastUsedNanos > idleTimeoutNanos) {
            byToken.remove(token);
            return Optional.empty();
        }
        session.lastUsedNanos = now;
        return Optional.of(session);
    }

    /** Tells whether a session is still live, without marking it used (the event stream asks). */
    boolean live(Session session) {
        return byToken.get(session.token) == session && clock.nanoTime() - session.lastUsedNanos <= idleTimeoutNanos;
    }

    void end(Session session) {
        byToken.remove(session.token, session);
    }

    private static String token() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
