package io.avance.core.monitor;

import io.avance.core.time.NanoClock;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Locks out a user name, and separately a client address, after repeated failed logins.
 *
 * <pre>
 *   OPEN --failure (count &lt; limit)--&gt; OPEN
 *   OPEN --limit-th failure--&gt; LOCKED --lock-out elapsed--&gt; OPEN (count reset)
 *   OPEN --success--&gt; OPEN (count reset)
 * </pre>
 *
 * <p>Both keys count: guessing many passwords for one name from many addresses locks the name;
 * guessing from one address across many names locks the address. A locked key refuses even the
 * right password until the lock-out ends, so the lock-out cannot be probed. Thread-safe.
 */
final class LoginThrottle {

    private final NanoClock clock;
    private final int attempts;
    private final long lockoutNanos;
    private final Map<String, State> states = new HashMap<>();

    private static final class State {
        int failures;
        long lockedUntilNanos;
        boolean locked;
    }

    LoginThrottle(NanoClock clock, int attempts, long lockoutNanos) {
        this.clock = Objects.requireNonNull(clock);
        this.attempts = attempts;
        this.lockoutNanos = lockoutNanos;
    }

    /**
     * How long the keys stay locked.
     *
     * @return 0 if neither is locked, else nanoseconds until both are open
     */
    synchronized long lockedForNanos(String user, String address) {
        long now = clock.nanoTime();
        return Math.max(remaining("user:" + user, now), remaining("address:" + address, now));
    }

    private long remaining(String key, long now) {
        State state = states.get(key);
        if (state == null || !state.locked) {
            return 0;
        }
        long left = state.lockedUntilNanos - now;
        if (left <= 0) {
            states.remove(key);
            return 0;
        }
        return left;
    }

    /** Counts a failed login; returns true if it locked a key. */
    synchronized boolean failed(String user, String address) {
        long now = clock.nanoTime();
        boolean user1 = fail("user:" + user, now);
        boolean address1 = fail("address:" + address, now);
        if (states.size() > 100_000) {
            // An address sweep must not grow memory without bound: forget open counters first.
            states.values().removeIf(state -> !state.locked);
        }
        return user1 || address1;
    }

    private boolean fail(String key, long now) {
        State state = states.computeIfAbsent(key, k -> new State());
        if (state.locked) {
            return false;
        }
        state.failures++;
        if (state.failures >= attempts) {
            state.locked = true;
            state.lockedUntilNanos = now + lockoutNanos;
            return true;
        }
        return false;
    }

    /** Forgets the failures of a user and address after a successful login. */
    synchronized void succeeded(String user, String address) {
        states.remove("user:" + user);
        states.remove("address:" + address);
    }
}
