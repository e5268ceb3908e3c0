package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Availability;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe names the first thing missing, reading a fake file-system root. */
class XenProbeTest {

    @TempDir
    Path root;

    private Availability probe() {
        return new XenProbe(root).check();
    }

    private void file(String path, String content) throws IOException {
        Path file = root.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    @Test
    void walksThroughWhatADom0Needs() throws IOException {
        assertMissing("/proc/xen does not exist");
        Files.createDirectories(root.resolve("proc/xen"));
        assertMissing("xenfs is not mounted");
        file("proc/xen/capabilities", "");
        assertMissing("this is a Xen guest (domU), not dom0");
        file("proc/xen/capabilities", "control_d\n");
        assertMissing("/dev/xen/privcmd is missing: load the xen-privcmd module");
        file("dev/xen/privcmd", "");
        assertMissing("/dev/xen/evtchn is missing");
        file("dev/xen/evtchn", "");
        assertMissing("xenstored is not running");
        file("var/run/xenstored/socket", "");
        assertMissing("/var/run/xen is missing");
        Files.createDirectories(root.resolve("var/run/xen"));
        Availability available = probe();
        assertTrue(available.available(), available.reason());
    }

    private void assertMissing(String text) {
        Availability availability = probe();
        assertFalse(availability.available());
        assertTrue(availability.reason().contains(text), availability.reason());
    }

    @Test
    void thisMachineIsNotADom0UnlessItIs() {
        Availability real = new XenHypervisorAdapter().probe();
        boolean dom0 = Files.exists(Path.of("/proc/xen/capabilities")) && Files.exists(Path.of("/dev/xen/privcmd"));
        if (!dom0) {
            assertFalse(real.available());
            assertEquals(new XenProbe(Path.of("/")).check(), real);
        }
    }
}
