package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmEventListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link VmEventListener} that records what it hears, and the thread it heard it on, so that a
 * test can wait for an event (woken by its arrival, with a deadline; never by sleeping) and
 * check their order. Thread-safe. Depends on nothing but the API.
 */
public final class EventRecorder implements VmEventListener {

    private final List<Heard> heard = new ArrayList<>();
    private int cursor;

    /**
     * One event as heard.
     *
     * @param event  the event
     * @param thread the name of the thread it was delivered on
     * @param threadId that thread's id
     */
    public record Heard(VmEvent event, String thread, long threadId) {
    }

    @Override
    public synchronized void onVmEvent(VmEvent event) {
        Thread current = Thread.currentThread();
        heard.add(new Heard(event, current.getName(), current.getId()));
        notifyAll();
    }

    /**
     * Waits for the next event of a kind for a VM, after the one the previous {@code await}
     * returned; events in between of other kinds or VMs are passed over.
     *
     * @param vm      the VM
     * @param kind    the kind
     * @param timeout the longest wait
     * @return the event as heard
     * @throws AssertionError       if it does not come in time, listing what did
     * @throws InterruptedException if interrupted
     */
    public synchronized Heard await(String vm, VmEvent.Kind kind, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (int i = cursor; i < heard.size(); i++) {
                Heard candidate = heard.get(i);
                if (candidate.event().vm().equals(vm) && candidate.event().kind() == kind) {
                    cursor = i + 1;
                    return candidate;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no " + kind + " event for VM " + vm + " within " + timeout.toMillis()
                        + " ms; heard " + kinds(vm));
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /**
     * Every event heard so far.
     *
     * @return a copy, in delivery order
     */
    public synchronized List<Heard> heard() {
        return List.copyOf(heard);
    }

    /**
     * The kinds of the events heard for one VM.
     *
     * @param vm the VM
     * @return the kinds, in delivery order
     */
    public synchronized List<VmEvent.Kind> kinds(String vm) {
        List<VmEvent.Kind> kinds = new ArrayList<>();
        for (Heard h : heard) {
            if (h.event().vm().equals(vm)) {
                kinds.add(h.event().kind());
            }
        }
        return kinds;
    }

    /** @return how many events were heard */
    public synchronized int count() {
        return heard.size();
    }
}
