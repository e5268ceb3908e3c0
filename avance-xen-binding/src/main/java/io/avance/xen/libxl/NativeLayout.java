package io.avance.xen.libxl;

/**
 * Sizes and offsets of the C structures the binding treats as opaque memory rather than mirror
 * field by field (Xen 4.17, x86_64). Every value is checked against the installed headers by
 * the layout test (gcc and {@code offsetof}), and against a committed table where the headers
 * are absent.
 *
 * <p>Why opaque: {@code libxl_domain_config} is 1288 bytes of nested unions that only libxl
 * fills (from JSON) and reads; mirroring it would add nothing but risk.
 */
public final class NativeLayout {

    /** {@code sizeof(libxl_domain_config)}. */
    public static final int DOMAIN_CONFIG_SIZE = 1288;
    /** {@code sizeof(libxl_domain_restore_params)}. */
    public static final int RESTORE_PARAMS_SIZE = 24;
    /** {@code offsetof(libxl_domain_restore_params, stream_version)}. */
    public static final int RESTORE_PARAMS_STREAM_VERSION = 4;
    /** {@code sizeof(libxl_childproc_hooks)}. */
    public static final int CHILDPROC_HOOKS_SIZE = 24;
    /** {@code offsetof(libxl_childproc_hooks, chldowner)}. */
    public static final int CHILDPROC_HOOKS_CHLDOWNER = 0;
    /** {@code sizeof(xc_hypercall_buffer_t)}. */
    public static final int HYPERCALL_BUFFER_SIZE = 40;
    /** {@code offsetof(xc_hypercall_buffer_t, ubuf)}: {@code DECLARE_HYPERCALL_BUFFER} sets it to -1. */
    public static final int HYPERCALL_BUFFER_UBUF = 24;
    /** {@code sizeof(struct pollfd)}. */
    public static final int POLLFD_SIZE = 8;
    /** {@code offsetof(struct pollfd, events)}. */
    public static final int POLLFD_EVENTS = 4;
    /** {@code offsetof(struct pollfd, revents)}. */
    public static final int POLLFD_REVENTS = 6;
    /** {@code offsetof(libxl_version_info, xen_version_major)}. */
    public static final int VERSION_INFO_MAJOR = 0;
    /** {@code offsetof(libxl_version_info, xen_version_minor)}. */
    public static final int VERSION_INFO_MINOR = 4;
    /** {@code sizeof(xen_pfn_t)}: an {@code unsigned long}. */
    public static final int PFN_SIZE = 8;

    private NativeLayout() {
    }
}
