package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The simulated guest's options: sizes, defaults, and refusals that name the key. */
class GuestOptionsTest {

    private static final VmSpec.Disk DISK = new VmSpec.Disk("d", 1 << 20, 1);

    private static VmSpec spec(List<VmSpec.Disk> disks, Map<String, String> options) {
        return new VmSpec("vm", 1, 16L << 20, disks, List.of(), options);
    }

    private static void refused(String word, VmSpec spec) {
        HypervisorException e = assertThrows(HypervisorException.class, () -> GuestOptions.of(spec));
        assertTrue(e.getMessage().contains(word), () -> "'" + word + "' not in: " + e.getMessage());
        assertTrue(e.getMessage().contains("vm"), e.getMessage());
    }

    @Test
    void sizesTakeBinaryUnits() {
        assertEquals(4096, GuestOptions.parseBytes("4096"));
        assertEquals(512 << 10, GuestOptions.parseBytes("512KiB"));
        assertEquals(50L << 20, GuestOptions.parseBytes("50MiB/s"));
        assertEquals(50L << 20, GuestOptions.parseBytes(" 50m "));
        assertEquals(4L << 30, GuestOptions.parseBytes("4GiB"));
        assertEquals(2L << 40, GuestOptions.parseBytes("2TiB"));
        assertThrows(IllegalArgumentException.class, () -> GuestOptions.parseBytes("-1"));
        assertThrows(IllegalArgumentException.class, () -> GuestOptions.parseBytes("12 parsecs"));
        assertThrows(IllegalArgumentException.class, () -> GuestOptions.parseBytes("99999999999TiB"));
    }

    @Test
    void defaultsAreAKvGuestWithoutListenerOrLoad() {
        GuestOptions options = GuestOptions.of(spec(List.of(DISK), Map.of()));
        assertEquals(GuestOptions.Program.KV, options.program());
        assertEquals(0, options.port());
        assertEquals("127.0.0.1", options.bind().getHostAddress());
        assertEquals(0, options.dirtyRateBytesPerSecond());
        assertEquals(0, options.diskRateBytesPerSecond());
        GuestOptions idle = GuestOptions.of(spec(List.of(), Map.of("sim.program", "idle", "sim.dirty-rate", "1MiB")));
        assertEquals(GuestOptions.Program.IDLE, idle.program());
        assertEquals(1 << 20, idle.dirtyRateBytesPerSecond());
    }

    @Test
    void wrongOptionsAreRefusedNamingTheKey() {
        refused("sim.colour", spec(List.of(DISK), Map.of("sim.colour", "blue")));
        refused("sim.program=dos", spec(List.of(DISK), Map.of("sim.program", "dos")));
        refused("sim.port", spec(List.of(DISK), Map.of("sim.port", "70000")));
        refused("sim.port", spec(List.of(DISK), Map.of("sim.port", "http")));
        refused("sim.dirty-rate", spec(List.of(DISK), Map.of("sim.dirty-rate", "fast")));
        refused("sim.bind", spec(List.of(DISK), Map.of("sim.bind", "no-such-host.invalid")));
        refused("has none", spec(List.of(), Map.of()));
        refused("at least", spec(List.of(new VmSpec.Disk("tiny", 8192, 1)), Map.of()));
        refused("sim.port", spec(List.of(), Map.of("sim.program", "idle", "sim.port", "9000")));
        refused("sim.disk-rate", spec(List.of(), Map.of("sim.program", "idle", "sim.disk-rate", "1MiB")));
    }

    @Test
    void layoutsLeaveScratchAfterTheTable() {
        GuestLayout kv = GuestLayout.of(GuestOptions.Program.KV, 64L << 20);
        assertEquals(65_536, kv.tableSlots(), "a quarter of 64 MiB in 256-byte slots");
        assertEquals(1 + 65_536 / 16, kv.scratchFirstPage());
        assertEquals((64L << 20) / 4096 - kv.scratchFirstPage(), kv.scratchPages());
        GuestLayout small = GuestLayout.of(GuestOptions.Program.KV, 1L << 20);
        assertEquals(1024, small.tableSlots());
        GuestLayout idle = GuestLayout.of(GuestOptions.Program.IDLE, 1L << 20);
        assertEquals(0, idle.scratchFirstPage());
        assertEquals(256, idle.scratchPages());
        assertEquals(3L << 20, GuestLayout.logAreaBytes(4L << 20));
    }
}
