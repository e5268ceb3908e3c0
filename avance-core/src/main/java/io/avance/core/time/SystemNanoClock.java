package io.avance.core.time;

/** The one place in the engine that reads the JVM's monotonic clock. */
enum SystemNanoClock implements NanoClock {
    INSTANCE;

    @Override
    public long nanoTime() {
        // CLOCK-SOURCE-BEGIN: the engine's only direct clock read; everything else takes a NanoClock.
        return System.nanoTime();
        // CLOCK-SOURCE-END
    }
}
