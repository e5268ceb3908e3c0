package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.avance.api.hypervisor.VmState;
import org.junit.jupiter.api.Test;

class DomainStatesTest {

    private static DomainSnapshot domain(String name, boolean paused, boolean shutdown, boolean dying, int reason) {
        return new DomainSnapshot(7, name, !paused, false, paused, shutdown, dying, reason, 131072, 132096, 1, 1);
    }

    @Test
    void mapsLibxlFlagsToVmStates() {
        assertEquals(VmState.RUNNING, DomainStates.of(domain("vm", false, false, false, -1)));
        assertEquals(VmState.PAUSED, DomainStates.of(domain("vm", true, false, false, -1)));
        assertEquals(VmState.STOPPING, DomainStates.of(domain("vm", false, false, true, -1)));
        assertEquals(VmState.STOPPING, DomainStates.of(domain("vm", false, true, false, 0)));
        assertEquals(VmState.STARTING, DomainStates.of(domain("vm", false, true, false, 1)));
        assertEquals(VmState.MIGRATING, DomainStates.of(domain("vm", false, true, false, 2)));
        assertEquals(VmState.CRASHED, DomainStates.of(domain("vm", false, true, false, 3)));
        assertEquals(VmState.CRASHED, DomainStates.of(domain("vm", false, true, false, 4)));
        assertEquals(VmState.CRASHED, DomainStates.of(domain("vm", false, true, false, -1)));
        // Dying wins over shutdown: the domain is going whatever it was.
        assertEquals(VmState.STOPPING, DomainStates.of(domain("vm", false, true, true, 3)));
        // Migration names: a received copy waits paused for the engine; one being restored, or
        // a source that has sent its stream, is migrating.
        assertEquals(VmState.PAUSED, DomainStates.of(domain("vm--incoming", true, false, false, -1)));
        assertEquals(VmState.MIGRATING, DomainStates.of(domain("vm--incoming", false, false, false, -1)));
        assertEquals(VmState.MIGRATING, DomainStates.of(domain("vm--migratedaway", false, true, false, 2)));
    }

    @Test
    void namesVmsAndReasons() {
        assertEquals("vm", DomainStates.vmName("vm--incoming"));
        assertEquals("vm", DomainStates.vmName("vm--migratedaway"));
        assertEquals("vm-1", DomainStates.vmName("vm-1"));
        assertEquals("poweroff", DomainStates.shutdownReason(0));
        assertEquals("crash", DomainStates.shutdownReason(3));
        assertEquals("unknown (-1)", DomainStates.shutdownReason(-1));
        assertEquals("ERROR_DOMAIN_NOTFOUND (-21)", LibxlErrors.describe(-21));
        assertEquals("ERROR_FAIL (-3)", LibxlErrors.describe(-3));
        assertEquals("ERROR_QEMU_API (-32)", LibxlErrors.describe(-32));
        assertEquals("unknown libxl code -99", LibxlErrors.describe(-99));
    }
}
