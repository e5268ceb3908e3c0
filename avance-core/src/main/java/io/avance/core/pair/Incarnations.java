package io.avance.core.pair;

/**
 * A node's incarnations: one number per run of its controller, carried by every heartbeat.
 * Incarnations grow from run to run (they begin with the start's wall-clock time), so that the
 * peer can tell a datagram of an earlier run, a replay or one delayed past a restart, from one of
 * a later run: the first is dropped, the second proves a restart only once the current run has
 * been silent for the detection minimum or the private link's handshake names it
 * ({@link PairController}).
 */
public final class Incarnations {

    private static final int RANDOM_BITS = 20;

    private Incarnations() {
    }

    /**
     * A new run's incarnation: the wall-clock time in milliseconds, then 20 random bits (two runs
     * started in the same millisecond on two machines still differ), and always above the
     * previous run's of the same process (a clock set back within a process changes nothing).
     *
     * @param previous   this process's previous incarnation, or 0
     * @param wallMillis the wall clock now, in milliseconds since the epoch
     * @param randomBits random bits (the low 20 are used)
     * @return the incarnation: positive, odd, above {@code previous}
     */
    public static long next(long previous, long wallMillis, int randomBits) {
        long fresh = (Math.max(0, wallMillis) << RANDOM_BITS | (randomBits & ((1 << RANDOM_BITS) - 1)))
                & Long.MAX_VALUE | 1L;
        return Math.max(fresh, (previous + 2) | 1L);
    }
}
