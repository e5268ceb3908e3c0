package io.avance.testkit.hypervisor;

/**
 * A tiny random generator whose whole state is one {@code long}, so that a guest's generator can
 * travel in its device state and continue on the target exactly where it stopped (which
 * {@link java.util.SplittableRandom} cannot do: its state is not readable). Not thread-safe.
 */
final class SplitMix64 {

    private long state;

    SplitMix64(long state) {
        this.state = state;
    }

    /** @return the state, to save */
    long state() {
        return state;
    }

    /** @return the next value */
    long next() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * A value in {@code [0, bound)}.
     *
     * @param bound positive
     * @return the value
     */
    long nextBelow(long bound) {
        return Math.floorMod(next(), bound);
    }
}
