package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Map;

/**
 * The Xen libraries, loaded by exact soname.
 *
 * <p>Loading is separate from use: {@link #load()} only maps the shared objects (it touches no
 * hypervisor), so that the adapter can report a missing package by name before it opens
 * anything. Immutable and thread-safe once loaded.
 *
 * @param log            {@code libxentoollog.so.1}
 * @param light          {@code libxenlight.so.4.17}
 * @param control        {@code libxenctrl.so.4.17}
 * @param foreignMemory  {@code libxenforeignmemory.so.1}
 * @param c              libc
 */
public record XenLibraries(LibXenToolLog log, LibXenLight light, LibXenCtrl control,
                           LibXenForeignMemory foreignMemory, LibC c) {

    /** The Debian package that ships each library, for error messages. */
    public static final Map<String, String> PACKAGES = Map.of(
            LibXenToolLog.SONAME, "libxentoollog1",
            LibXenLight.SONAME, "libxenmisc4.17",
            LibXenCtrl.SONAME, "libxenmisc4.17",
            LibXenForeignMemory.SONAME, "libxenforeignmemory1");

    /**
     * Loads the four libraries.
     *
     * @return the loaded libraries
     * @throws UnsatisfiedLinkError naming the soname and the package that provides it
     */
    public static XenLibraries load() {
        LibXenToolLog log = load(LibXenToolLog.SONAME, LibXenToolLog.class);
        LibXenLight light = load(LibXenLight.SONAME, LibXenLight.class);
        LibXenCtrl control = load(LibXenCtrl.SONAME, LibXenCtrl.class);
        LibXenForeignMemory foreign = load(LibXenForeignMemory.SONAME, LibXenForeignMemory.class);
        return new XenLibraries(log, light, control, foreign, LibC.INSTANCE);
    }

    private static <T extends Library> T load(String soname, Class<T> type) {
        try {
            return Native.load(soname, type);
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot load " + soname + " (Debian package "
                    + PACKAGES.get(soname) + "): " + e.getMessage());
            error.initCause(e);
            throw error;
        }
    }
}
