package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.Map;
import java.util.Set;

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
        LibXenLight light = ForkGuard.guard(LibXenLight.class, load(LibXenLight.SONAME, LibXenLight.class),
                LIBXL_LEAF_CALLS);
        LibXenCtrl control = ForkGuard.guard(LibXenCtrl.class, load(LibXenCtrl.SONAME, LibXenCtrl.class), null);
        LibXenForeignMemory foreign = ForkGuard.guard(LibXenForeignMemory.class,
                load(LibXenForeignMemory.SONAME, LibXenForeignMemory.class), null);
        return new XenLibraries(log, light, control, foreign, LibC.INSTANCE);
    }

    /**
     * The libxl calls that never take libxl's context lock and never fork, and so run as
     * {@link ForkGuard} leaf calls (checked against Xen 4.17's sources: each makes hypercalls or
     * xenstore requests under {@code GC_INIT} only). Every libxenctrl and libxenforeignmemory call
     * is a leaf call too. The context's allocation and release are leaf calls as well: the
     * adapter frees a context only once nothing else uses it.
     */
    static final Set<String> LIBXL_LEAF_CALLS = Set.of("libxl_ctx_alloc", "libxl_ctx_free", "libxl_list_domain",
            "libxl_domain_info", "libxl_domid_to_name", "libxl_get_memory_target", "libxl_get_free_memory",
            "libxl_get_online_cpus", "libxl_domain_rename");

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
