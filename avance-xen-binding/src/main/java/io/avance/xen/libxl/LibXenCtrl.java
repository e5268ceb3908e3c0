package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.NativeLongByReference;

/**
 * {@code libxenctrl.so.4.17}: the parts libxl does not wrap, for dirty-page logging.
 *
 * <p>The soname changes with every Xen release, and {@code xc_shadow_control} changed its
 * signature in 4.16 (when {@code xc_logdirty_control} was split out of it), so this mapping is
 * for 4.17 only and is loaded by exact soname.
 */
public interface LibXenCtrl extends Library {

    /** The soname of Xen 4.17's libxenctrl. */
    String SONAME = "libxenctrl.so.4.17";

    /** {@code XEN_DOMCTL_SHADOW_OP_OFF}. */
    int SHADOW_OP_OFF = 0;
    /** {@code XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY}. */
    int SHADOW_OP_ENABLE_LOGDIRTY = 2;
    /** {@code XEN_DOMCTL_SHADOW_OP_CLEAN}: return the bitmap and clear it. */
    int SHADOW_OP_CLEAN = 11;
    /** {@code XEN_DOMCTL_SHADOW_OP_PEEK}: return the bitmap, keep it. */
    int SHADOW_OP_PEEK = 12;

    /** {@code xc_interface *xc_interface_open(xentoollog_logger *, xentoollog_logger *, unsigned)}. */
    Pointer xc_interface_open(Pointer logger, Pointer domainBuildLogger, int openFlags);

    int xc_interface_close(Pointer xch);

    /** {@code int xc_shadow_control(xc_interface *, uint32_t domid, unsigned sop, unsigned *mb, unsigned mode)}. */
    int xc_shadow_control(Pointer xch, int domid, int operation, Pointer megabytes, int mode);

    /**
     * {@code long long xc_logdirty_control(xc_interface *, uint32_t domid, unsigned sop,
     * xc_hypercall_buffer_t *dirty_bitmap, unsigned long pages, unsigned mode,
     * xc_shadow_op_stats_t *stats)}: the number of pages on success, a negative value on error.
     */
    long xc_logdirty_control(Pointer xch, int domid, int operation, Pointer hypercallBuffer,
                             NativeLong pages, int mode, ShadowOpStats stats);

    /** {@code int xc_domain_maximum_gpfn(xc_interface *, uint32_t domid, xen_pfn_t *gpfns)}. */
    int xc_domain_maximum_gpfn(Pointer xch, int domid, NativeLongByReference gpfns);

    /** {@code void *xc__hypercall_buffer_alloc_pages(xc_interface *, xc_hypercall_buffer_t *, int)}. */
    Pointer xc__hypercall_buffer_alloc_pages(Pointer xch, Pointer buffer, int pages);

    /** {@code void xc__hypercall_buffer_free_pages(xc_interface *, xc_hypercall_buffer_t *, int)}. */
    void xc__hypercall_buffer_free_pages(Pointer xch, Pointer buffer, int pages);
}
