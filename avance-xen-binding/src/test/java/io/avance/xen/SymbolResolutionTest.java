package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.jna.NativeLibrary;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.LibXenCtrl;
import io.avance.xen.libxl.LibXenForeignMemory;
import io.avance.xen.libxl.LibXenLight;
import io.avance.xen.libxl.LibXenToolLog;
import io.avance.xen.libxl.XenLibraries;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every function the binding maps exists in the real Debian libraries, loaded by the exact
 * sonames the adapter uses. Needs the libraries installed (Debian packages libxenmisc4.17,
 * libxentoollog1, libxenforeignmemory1; libxen-dev pulls them in) but no Xen.
 */
class SymbolResolutionTest {

    private static final Map<String, Class<?>> LIBRARIES = Map.of(
            LibXenLight.SONAME, LibXenLight.class,
            LibXenCtrl.SONAME, LibXenCtrl.class,
            LibXenToolLog.SONAME, LibXenToolLog.class,
            LibXenForeignMemory.SONAME, LibXenForeignMemory.class,
            "c", LibC.class);

    @Test
    void everyMappedFunctionResolves() {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<String, Class<?>> library : LIBRARIES.entrySet()) {
            NativeLibrary loaded;
            try {
                loaded = NativeLibrary.getInstance(library.getKey());
            } catch (UnsatisfiedLinkError e) {
                fail("cannot load " + library.getKey() + " (Debian package "
                        + XenLibraries.PACKAGES.getOrDefault(library.getKey(), "libc6") + "): " + e.getMessage());
                return;
            }
            for (Method method : library.getValue().getDeclaredMethods()) {
                if (Modifier.isStatic(method.getModifiers()) || method.isDefault()) {
                    continue;
                }
                try {
                    assertNotNull(loaded.getFunction(method.getName()));
                    checked++;
                } catch (UnsatisfiedLinkError e) {
                    missing.add(library.getKey() + ": " + method.getName());
                }
            }
        }
        assertEquals(List.of(), missing, "functions missing from the libraries");
        assertTrue(checked >= 55, "checked only " + checked + " functions");
    }

    @Test
    void theAdapterLoadsTheVersionedSonames() {
        XenLibraries libraries = XenLibraries.load();
        String light = NativeLibrary.getInstance(LibXenLight.SONAME).getFile().getName();
        assertTrue(light.startsWith("libxenlight.so.4.17"), "loaded " + light);
        String control = NativeLibrary.getInstance(LibXenCtrl.SONAME).getFile().getName();
        assertTrue(control.startsWith("libxenctrl.so.4.17"), "loaded " + control);
        assertNotNull(libraries.light());
    }
}
