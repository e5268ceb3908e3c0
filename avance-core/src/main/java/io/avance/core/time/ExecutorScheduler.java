package io.avance.core.time;

import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Scheduler} on real time: its tasks run on a single-threaded scheduled executor, its
 * clock is the JVM's monotonic clock. What production passes to core logic.
 */
public final class ExecutorScheduler implements Scheduler {

    private final ScheduledExecutorService executor;
    private final NanoClock clock;

    /**
     * A scheduler over an executor that runs one task at a time (its owner shuts it down).
     *
     * @param executor a single-threaded scheduled executor
     */
    public ExecutorScheduler(ScheduledExecutorService executor) {
        this.executor = Objects.requireNonNull(executor, "executor");
        this.clock = NanoClock.system();
    }

    @Override
    public long nanoTime() {
        return clock.nanoTime();
    }

    @Override
    public void execute(Runnable task) {
        executor.execute(task);
    }

    @Override
    public Timer after(long delayNanos, Runnable task) {
        ScheduledFuture<?> future = executor.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        return () -> future.cancel(false);
    }
}
