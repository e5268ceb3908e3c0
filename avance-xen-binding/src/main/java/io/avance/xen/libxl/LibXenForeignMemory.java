package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * {@code libxenforeignmemory.so.1}: maps guest pages into this process.
 *
 * <p>A mapping can succeed as a whole while single pages fail; touching a failed page raises
 * SIGBUS, which would kill the JVM. Callers always pass an error array and check every entry
 * before reading.
 */
public interface LibXenForeignMemory extends Library {

    /** The stable soname. */
    String SONAME = "libxenforeignmemory.so.1";

    /** {@code PROT_READ}. */
    int PROT_READ = 1;
    /** {@code PROT_WRITE}. */
    int PROT_WRITE = 2;

    Pointer xenforeignmemory_open(Pointer logger, int openFlags);

    int xenforeignmemory_close(Pointer handle);

    /**
     * {@code void *xenforeignmemory_map(xenforeignmemory_handle *, uint32_t dom, int prot,
     * size_t pages, const xen_pfn_t arr[], int err[])}.
     *
     * @param frames guest frame numbers ({@code unsigned long} each)
     * @param errors one {@code int} per page, set to 0 or a negative errno
     */
    Pointer xenforeignmemory_map(Pointer handle, int domid, int protection, NativeLong pages,
                                 Pointer frames, Pointer errors);

    int xenforeignmemory_unmap(Pointer handle, Pointer address, NativeLong pages);
}
