package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.xen.libxl.XenLibraries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a machine without Xen the adapter says what is missing and fails cleanly: never a crash,
 * even when the probe is fooled and libxl itself is asked (it answers -3, errno 2).
 */
class XenAdapterWithoutXenTest {

    @TempDir
    Path directory;

    private static boolean dom0() {
        return Files.exists(Path.of("/proc/xen/capabilities")) && Files.exists(Path.of("/dev/xen/privcmd"));
    }

    @Test
    void openRefusesWithWhatIsMissing() {
        if (dom0()) {
            return;
        }
        XenHypervisorAdapter adapter = new XenHypervisorAdapter();
        assertFalse(adapter.probe().available());
        HypervisorException e = assertThrows(HypervisorException.class, () -> adapter.open(TestContext.in(directory)));
        assertTrue(e.getMessage().startsWith("Xen is not available: "), e.getMessage());
        assertTrue(e.getMessage().contains(adapter.probe().reason()), e.getMessage());
        // The adapter stays usable for another try, and closes cleanly without having opened.
        assertThrows(HypervisorException.class, () -> adapter.open(TestContext.in(directory)));
        adapter.close();
        assertThrows(HypervisorException.class, adapter::list);
    }

    /** The probe fooled by a fake root: libxl is reached, fails, and the JVM lives. */
    @Test
    void libxlFailureWithoutXenIsAnExceptionNotACrash() throws IOException {
        if (dom0()) {
            return;
        }
        Path root = directory.resolve("root");
        for (String file : new String[] {"proc/xen/capabilities", "dev/xen/privcmd", "dev/xen/evtchn",
            "var/run/xenstored/socket"}) {
            Files.createDirectories(root.resolve(file).getParent());
            Files.writeString(root.resolve(file), file.contains("capabilities") ? "control_d\n" : "");
        }
        Files.createDirectories(root.resolve("var/run/xen"));
        XenHypervisorAdapter adapter = new XenHypervisorAdapter(XenAdapterSettings.defaults(), root,
                XenLibraries::load, Clock.systemUTC());
        assertTrue(adapter.probe().available());
        Path state = directory.resolve("state");
        HypervisorException e = assertThrows(HypervisorException.class, () -> adapter.open(TestContext.in(state)));
        assertTrue(e.getMessage().contains("libxl_ctx_alloc failed: ERROR_FAIL (-3), errno 2"), e.getMessage());
        // libxl logged through our logger into the adapter's log, and the message quotes it.
        String log = Files.readString(state.resolve("xen-toollog.log"));
        assertTrue(log.contains("cannot open libxc handle"), log);
        assertTrue(e.getMessage().contains("cannot open libxc handle"), e.getMessage());
        // A second attempt fails the same way: nothing was left half-open.
        HypervisorException again = assertThrows(HypervisorException.class, () -> adapter.open(TestContext.in(state)));
        assertTrue(again.getMessage().contains("libxl_ctx_alloc failed"), again.getMessage());
    }

    @Test
    void missingLibrariesAreNamed() throws IOException {
        Path root = directory.resolve("root");
        for (String file : new String[] {"proc/xen/capabilities", "dev/xen/privcmd", "dev/xen/evtchn",
            "var/run/xenstored/socket"}) {
            Files.createDirectories(root.resolve(file).getParent());
            Files.writeString(root.resolve(file), "control_d\n");
        }
        Files.createDirectories(root.resolve("var/run/xen"));
        XenHypervisorAdapter adapter = new XenHypervisorAdapter(XenAdapterSettings.defaults(), root, () -> {
            throw new UnsatisfiedLinkError("cannot load libxenlight.so.4.17 (Debian package libxenmisc4.17)");
        }, Clock.systemUTC());
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> adapter.open(TestContext.in(directory.resolve("state"))));
        assertTrue(e.getMessage().contains("libxenmisc4.17"), e.getMessage());
    }

    @Test
    void isFoundByServiceLoaderAndDescribesItself() {
        HypervisorAdapter found = ServiceLoader.load(HypervisorAdapter.class).stream()
                .map(ServiceLoader.Provider::get).filter(a -> a.name().equals("xen")).findFirst().orElseThrow();
        assertTrue(found instanceof XenHypervisorAdapter);
        assertTrue(found.capabilities().contains(Capability.NATIVE_MIGRATION));
        assertTrue(found.capabilities().contains(Capability.DIRTY_PAGE_LOGGING));
        assertFalse(found.capabilities().contains(Capability.DEVICE_STATE));
        assertTrue(found.fencer().isEmpty());
        assertEquals("xen", found.name());
        assertThrows(UnsupportedOperationException.class, () -> found.saveDeviceState("vm"));
    }
}
