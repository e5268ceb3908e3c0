package io.avance.core.pair;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The owner thread of a node's protocol logic: it runs the duty cycle at a fixed period and, in
 * between, the tasks that other threads hand over (decoded messages, witness answers).
 *
 * <p>Everything the controller does happens on this one thread, in order. The thread is a daemon
 * and is named {@code avance-agent-NODE}, so thread dumps show it.
 */
public final class PairAgent implements AutoCloseable {

    private static final Logger LOG = System.getLogger(PairAgent.class.getName());

    private final ScheduledExecutorService executor;
    private volatile Thread thread;
    private ScheduledFuture<?> ticking;

    /**
     * Creates the agent's thread.
     *
     * @param nodeName for the thread's name
     */
    public PairAgent(String nodeName) {
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread created = new Thread(runnable, "avance-agent-" + nodeName);
            created.setDaemon(true);
            thread = created;
            return created;
        });
    }

    /**
     * Starts the duty cycle.
     *
     * @param tick           what one cycle does
     * @param intervalNanos  the period
     */
    public synchronized void startTicking(Runnable tick, long intervalNanos) {
        stopTicking();
        ticking = executor.scheduleAtFixedRate(guard(tick), 0, intervalNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Stops the duty cycle; tasks still run.
     */
    public synchronized void stopTicking() {
        if (ticking != null) {
            ticking.cancel(false);
            ticking = null;
        }
    }

    /**
     * Runs a task on the agent thread, after those already handed over. Dropped once the agent is
     * closed.
     *
     * @param task the task
     */
    public void execute(Runnable task) {
        try {
            executor.execute(guard(task));
        } catch (RejectedExecutionException e) {
            LOG.log(Level.DEBUG, "agent closed; task dropped");
        }
    }

    /**
     * Tells whether the caller is the agent thread.
     *
     * @return true on the agent thread
     */
    public boolean onAgentThread() {
        return Thread.currentThread() == thread;
    }

    private static Runnable guard(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                // A failing cycle must not kill the thread: the next one may succeed, and a dead
                // duty cycle would let the serving lease run out without a word.
                LOG.log(Level.ERROR, "engine task failed", e);
            }
        };
    }

    @Override
    public void close() {
        stopTicking();
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
