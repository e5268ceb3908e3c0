package io.avance.core.time;

/**
 * Time and timers for core logic: a clock, and tasks run at once or later, one at a time, on the
 * scheduler's thread. Production runs it on a real thread ({@link ExecutorScheduler}); the
 * simulation runs every node's schedulers on one virtual clock, so that a seed replays exactly
 * ({@link VirtualTime}).
 *
 * <p>Core logic that needs a deadline or a periodic check schedules it here instead of on an
 * executor of its own, with {@code orTimeout}, a timed {@code get} or a sleep: those run on real
 * time, which the simulation cannot drive. {@code RealTimeRatchetTest} counts what is left.
 *
 * <p>Implementations are thread-safe: any thread may submit; tasks run on the scheduler's thread.
 */
public interface Scheduler extends NanoClock {

    /**
     * Runs a task on the scheduler's thread as soon as it is free, after the tasks submitted before.
     *
     * @param task the task
     */
    void execute(Runnable task);

    /**
     * Runs a task on the scheduler's thread once a delay has passed on this scheduler's clock.
     *
     * @param delayNanos how long from now; 0 or less means as soon as possible
     * @param task       the task
     * @return a handle that cancels the task if it has not started
     */
    Timer after(long delayNanos, Runnable task);

    /** A scheduled task that has not necessarily run yet. */
    @FunctionalInterface
    interface Timer {
        /**
         * Cancels the task if it has not started.
         *
         * @return true if it will not run
         */
        boolean cancel();
    }
}
