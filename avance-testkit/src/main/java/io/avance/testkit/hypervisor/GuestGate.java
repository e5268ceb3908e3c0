package io.avance.testkit.hypervisor;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The gate every unit of guest work passes through: a request from the network, a batch of
 * pages dirtied, a block written to the scratch area of the disk. It is how the simulated
 * hypervisor stops a guest's "virtual CPUs".
 *
 * <ul>
 *   <li>{@link #close} (pause) stops new work from entering and waits until the work inside has
 *       left, so that when it returns no guest thread touches memory or disk;</li>
 *   <li>{@link #open} (resume) lets the waiting work in;</li>
 *   <li>{@link #stop} (shutdown, destroy, crash) fails every waiting and future
 *       {@link #enter} with {@link GuestStoppedException}, so the guest's threads end.</li>
 * </ul>
 * Work waiting at a closed gate is like packets queued for a paused VM: it runs after resume,
 * or never if the VM stops. Thread-safe.
 */
final class GuestGate {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean closed;
    private boolean stopped;
    private int inside;

    /**
     * Enters the gate, waiting while it is closed. Every successful call is paired with
     * {@link #exit()} in a {@code finally} block.
     *
     * @throws GuestStoppedException if the guest stopped (before or while waiting), or the thread
     *                               was interrupted
     */
    void enter() {
        lock.lock();
        try {
            while (closed && !stopped) {
                changed.await();
            }
            if (stopped) {
                throw new GuestStoppedException();
            }
            inside++;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestStoppedException();
        } finally {
            lock.unlock();
        }
    }

    /** Leaves the gate. */
    void exit() {
        lock.lock();
        try {
            inside--;
            if (inside == 0) {
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the gate and waits for the work inside to leave.
     *
     * @param timeout how long work in progress may take to finish
     * @return true if nothing is inside; false if work was still inside at the deadline, in which
     *         case the gate is open again (the pause failed and the guest keeps running)
     * @throws GuestStoppedException if the guest stopped
     */
    boolean close(Duration timeout) {
        lock.lock();
        try {
            if (stopped) {
                throw new GuestStoppedException();
            }
            closed = true;
            if (awaitEmpty(timeout)) {
                return true;
            }
            closed = false;
            changed.signalAll();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Opens the gate; waiting work enters. */
    void open() {
        lock.lock();
        try {
            closed = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops the guest: waiting and future entries fail; waits for the work inside to leave.
     *
     * @param timeout how long work inside may take to leave
     * @return true if nothing is inside any more
     */
    boolean stop(Duration timeout) {
        lock.lock();
        try {
            stopped = true;
            changed.signalAll();
            return awaitEmpty(timeout);
        } finally {
            lock.unlock();
        }
    }

    /** @return whether the gate is closed (the guest paused) */
    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether the guest stopped */
    boolean isStopped() {
        lock.lock();
        try {
            return stopped;
        } finally {
            lock.unlock();
        }
    }

    /** @return how many units of work are inside now */
    int inside() {
        lock.lock();
        try {
            return inside;
        } finally {
            lock.unlock();
        }
    }

    private boolean awaitEmpty(Duration timeout) {
        long left = timeout.toNanos();
        boolean interrupted = false;
        try {
            while (inside > 0) {
                if (left <= 0) {
                    return false;
                }
                try {
                    left = changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    // A pause or stop must not be half done: finish waiting, keep the interrupt.
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Thrown into guest threads when their guest stopped: they unwind and end. */
    static final class GuestStoppedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        GuestStoppedException() {
            super("the guest stopped", null, false, false);
        }
    }
}
