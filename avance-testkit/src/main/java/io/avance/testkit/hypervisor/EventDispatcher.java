package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmEventListener;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * Delivers VM events to listeners on one adapter thread, in the order they were published.
 *
 * <p>Why a thread of its own: events are published by state transitions, with the VM's lock
 * held, often on an engine thread. Calling listeners there would run foreign code under our lock
 * and on the caller's thread, which the {@link VmEventListener} contract rules out. A listener
 * that throws is logged and keeps receiving events; closing a registration waits for a delivery
 * to that listener in progress, so that after {@code close()} returns the listener is never
 * called again (unless it closes itself from its own callback, which cannot wait for itself).
 * Thread-safe.
 */
final class EventDispatcher implements AutoCloseable {

    private static final Logger LOG = System.getLogger(EventDispatcher.class.getName());

    private final CopyOnWriteArrayList<Registration> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService thread;
    private volatile Thread deliveryThread;

    EventDispatcher(String name) {
        this.thread = Executors.newSingleThreadExecutor(runnable -> {
            Thread t = new Thread(runnable, name);
            t.setDaemon(true);
            deliveryThread = t;
            return t;
        });
    }

    /**
     * Registers a listener.
     *
     * @param listener called on the delivery thread
     * @return closing it unregisters the listener
     */
    AutoCloseable add(VmEventListener listener) {
        Registration registration = new Registration(listener);
        listeners.add(registration);
        return registration;
    }

    /**
     * Queues an event for every listener registered now or by the time it is delivered.
     *
     * @param event the event
     */
    void publish(VmEvent event) {
        try {
            thread.execute(() -> {
                for (Registration registration : listeners) {
                    registration.deliver(event);
                }
            });
        } catch (RejectedExecutionException e) {
            // The adapter is closed: nobody is listening any more.
        }
    }

    /** Stops delivering; events not yet delivered are dropped. */
    @Override
    public void close() {
        thread.shutdownNow();
        listeners.clear();
    }

    private final class Registration implements AutoCloseable {
        private final VmEventListener listener;
        private boolean closed;

        Registration(VmEventListener listener) {
            this.listener = listener;
        }

        synchronized void deliver(VmEvent event) {
            if (closed) {
                return;
            }
            try {
                listener.onVmEvent(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "VM event listener " + listener + " failed on " + event, e);
            }
        }

        @Override
        public void close() {
            listeners.remove(this);
            if (Thread.currentThread() == deliveryThread) {
                // Called from a callback: it cannot wait for its own delivery to end.
                closed = true;
                return;
            }
            synchronized (this) {
                closed = true;
            }
        }
    }
}
