package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmState;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The VM state table of the simulated hypervisor, as its javadoc draws it. */
class SimulatedVmStatesTest {

    private static final Map<VmState, Set<VmState>> EXPECTED = Map.of(
            VmState.DEFINED, EnumSet.of(VmState.STARTING, VmState.PAUSED),
            VmState.STARTING, EnumSet.of(VmState.RUNNING, VmState.CRASHED),
            VmState.RUNNING, EnumSet.of(VmState.STARTING, VmState.PAUSED, VmState.STOPPING, VmState.STOPPED,
                    VmState.CRASHED),
            VmState.PAUSED, EnumSet.of(VmState.RUNNING, VmState.STOPPED, VmState.CRASHED),
            VmState.STOPPING, EnumSet.of(VmState.STOPPED),
            VmState.STOPPED, EnumSet.of(VmState.STARTING, VmState.PAUSED),
            VmState.CRASHED, EnumSet.of(VmState.STARTING, VmState.PAUSED, VmState.STOPPED),
            VmState.MIGRATING, EnumSet.noneOf(VmState.class),
            VmState.FAILED, EnumSet.noneOf(VmState.class));

    @Test
    void exactlyTheDocumentedMovesAreLegal() {
        for (VmState from : VmState.values()) {
            for (VmState to : VmState.values()) {
                assertEquals(EXPECTED.get(from).contains(to), SimulatedVm.legal(from, to), from + " -> " + to);
            }
        }
    }

    @Test
    void eachMovePublishesItsEvent() {
        assertEquals(Optional.of(VmEvent.Kind.STARTED), SimulatedVm.eventFor(VmState.STARTING, VmState.RUNNING));
        assertEquals(Optional.of(VmEvent.Kind.REBOOTED), SimulatedVm.eventFor(VmState.RUNNING, VmState.STARTING));
        assertEquals(Optional.empty(), SimulatedVm.eventFor(VmState.STOPPED, VmState.STARTING));
        assertEquals(Optional.of(VmEvent.Kind.PAUSED), SimulatedVm.eventFor(VmState.RUNNING, VmState.PAUSED));
        assertEquals(Optional.empty(), SimulatedVm.eventFor(VmState.DEFINED, VmState.PAUSED), "incoming");
        assertEquals(Optional.of(VmEvent.Kind.RESUMED), SimulatedVm.eventFor(VmState.PAUSED, VmState.RUNNING));
        assertEquals(Optional.empty(), SimulatedVm.eventFor(VmState.RUNNING, VmState.STOPPING));
        assertEquals(Optional.of(VmEvent.Kind.SHUT_DOWN), SimulatedVm.eventFor(VmState.STOPPING, VmState.STOPPED));
        assertEquals(Optional.of(VmEvent.Kind.DESTROYED), SimulatedVm.eventFor(VmState.RUNNING, VmState.STOPPED));
        assertEquals(Optional.of(VmEvent.Kind.DESTROYED), SimulatedVm.eventFor(VmState.PAUSED, VmState.STOPPED));
        assertEquals(Optional.of(VmEvent.Kind.DESTROYED), SimulatedVm.eventFor(VmState.CRASHED, VmState.STOPPED));
        assertEquals(Optional.of(VmEvent.Kind.CRASHED), SimulatedVm.eventFor(VmState.RUNNING, VmState.CRASHED));
        assertEquals(Optional.of(VmEvent.Kind.CRASHED), SimulatedVm.eventFor(VmState.STARTING, VmState.CRASHED));
    }
}
