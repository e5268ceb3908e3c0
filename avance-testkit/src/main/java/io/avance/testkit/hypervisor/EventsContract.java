package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmState;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The events every {@link HypervisorAdapter} must report: STARTED, PAUSED, RESUMED, SHUT_DOWN,
 * DESTROYED, REBOOTED and CRASHED, to every registered listener, on an adapter thread, in order;
 * and none to a listener whose registration was closed.
 *
 * <p>The crash test needs the {@link AdapterUnderTest#crash} hook; without it, it is reported as
 * aborted by assumption.
 */
public abstract class EventsContract extends HypervisorContractSupport {

    /** Each lifecycle step reaches the listener as its event, in order, on an adapter thread. */
    @Test
    void lifecycleEventsReachListenersInOrderOnAnAdapterThread() throws Exception {
        HypervisorAdapter adapter = adapter();
        EventRecorder events = new EventRecorder();
        Instant before = Instant.now();
        register(adapter, events);
        String vm = newVmName("events");
        adapter.define(spec(vm));
        adapter.start(vm);
        EventRecorder.Heard started = events.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        if (adapter.capabilities().contains(Capability.PAUSE)) {
            adapter.pause(vm);
            events.await(vm, VmEvent.Kind.PAUSED, bootTimeout());
            adapter.resume(vm);
            events.await(vm, VmEvent.Kind.RESUMED, bootTimeout());
        }
        adapter.shutdown(vm);
        events.await(vm, VmEvent.Kind.SHUT_DOWN, bootTimeout());
        adapter.start(vm);
        events.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        adapter.destroy(vm);
        events.await(vm, VmEvent.Kind.DESTROYED, bootTimeout());

        assertNotEquals(Thread.currentThread().getId(), started.threadId(),
                "events must be delivered on an adapter thread, not the caller's");
        VmEvent event = started.event();
        assertEquals(vm, event.vm());
        assertNotNull(event.detail());
        assertTrue(!event.time().isBefore(before.minusSeconds(1)) && !event.time().isAfter(Instant.now()
                .plusSeconds(1)), () -> "the event's time is not now: " + event.time());
        // Nothing out of order: the kinds heard, without repeats, follow the calls.
        List<VmEvent.Kind> kinds = events.kinds(vm);
        int shutDown = kinds.indexOf(VmEvent.Kind.SHUT_DOWN);
        assertTrue(shutDown > kinds.indexOf(VmEvent.Kind.STARTED), () -> "events out of order: " + kinds);
        assertTrue(kinds.lastIndexOf(VmEvent.Kind.STARTED) > shutDown, () -> "events out of order: " + kinds);
        assertTrue(kinds.indexOf(VmEvent.Kind.DESTROYED) > kinds.lastIndexOf(VmEvent.Kind.STARTED),
                () -> "events out of order: " + kinds);
    }

    /** A reboot is reported as REBOOTED. */
    @Test
    void aRebootIsReported() throws Exception {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.REBOOT);
        EventRecorder events = new EventRecorder();
        register(adapter, events);
        String vm = startNewVm(adapter, "evreboot");
        adapter.reboot(vm);
        events.await(vm, VmEvent.Kind.REBOOTED, bootTimeout());
        awaitState(adapter, vm, VmState.RUNNING);
    }

    /** A crashed guest is reported as CRASHED and shows as CRASHED; it can be started again. */
    @Test
    void aCrashIsReportedAndTheVmCanStartAgain() throws Exception {
        HypervisorAdapter adapter = adapter();
        EventRecorder events = new EventRecorder();
        register(adapter, events);
        String vm = startNewVm(adapter, "crash");
        events.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        assumeTrue(underTest().crash(adapter, vm), () -> adapter.name() + ": the crash hook cannot crash a guest");
        EventRecorder.Heard crashed = events.await(vm, VmEvent.Kind.CRASHED, bootTimeout());
        assertNotNull(crashed.event().detail());
        awaitState(adapter, vm, VmState.CRASHED);
        adapter.start(vm);
        events.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        awaitAlive(adapter, vm);
    }

    /** After its registration is closed, a listener hears nothing more; others still do. */
    @Test
    void aClosedRegistrationHearsNothingMore() throws Exception {
        HypervisorAdapter adapter = adapter();
        EventRecorder kept = new EventRecorder();
        EventRecorder dropped = new EventRecorder();
        register(adapter, kept);
        AutoCloseable drop = adapter.addListener(dropped);
        String vm = startNewVm(adapter, "unlisten");
        dropped.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        kept.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        drop.close();
        int heardBefore = dropped.count();
        adapter.destroy(vm);
        kept.await(vm, VmEvent.Kind.DESTROYED, bootTimeout());
        adapter.start(vm);
        kept.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        assertEquals(heardBefore, dropped.count(), () -> "a closed registration still heard "
                + dropped.heard().subList(heardBefore, dropped.count()));
    }

    /** A listener that throws does not stop delivery, to itself or to others. */
    @Test
    void aFailingListenerDoesNotStopDelivery() throws Exception {
        HypervisorAdapter adapter = adapter();
        AtomicInteger failures = new AtomicInteger();
        EventRecorder events = new EventRecorder();
        register(adapter, event -> {
            failures.incrementAndGet();
            throw new IllegalStateException("a listener that fails on purpose");
        });
        register(adapter, events);
        String vm = startNewVm(adapter, "badlistener");
        events.await(vm, VmEvent.Kind.STARTED, bootTimeout());
        adapter.destroy(vm);
        events.await(vm, VmEvent.Kind.DESTROYED, bootTimeout());
        awaitTrue(() -> failures.get() >= 2, bootTimeout(),
                () -> "the failing listener was called " + failures.get() + " times; it should hear both events");
    }
}
