package io.avance.xen.libxl;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * {@code libxenlight.so.4.17}: the libxl functions the adapter calls, with their exact 4.17
 * signatures (from {@code libxl.h}, {@code libxl_event.h}, {@code libxl_utils.h}).
 *
 * <p>Why the exact soname: libxl's ABI is tied to the Xen release (every release gets a new
 * soname and its symbols are versioned {@code VERS_4.17.0}), and struct layouts move between
 * releases. The {@code LIBXL_API_VERSION} compatibility macros of {@code libxl.h} do not apply
 * to JNA, which binds to the exported symbols: every long-running call takes the 4.17
 * {@code ao_how} argument, which the adapter always passes as NULL (synchronous).
 *
 * <p>Rules kept by every caller: the context is never NULL; C {@code bool} is one byte;
 * {@code char *} results that libxl allocates are declared {@link Pointer} and released with
 * libc {@code free}; callback objects and hook tables stay strongly reachable for the life of
 * the context.
 */
public interface LibXenLight extends Library {

    /** The soname of Xen 4.17's libxl. */
    String SONAME = "libxenlight.so.4.17";

    /** {@code LIBXL_VERSION}, the only version {@code libxl_ctx_alloc} accepts. */
    int LIBXL_VERSION = 0;
    /** {@code LIBXL_SUSPEND_LIVE}. */
    int LIBXL_SUSPEND_LIVE = 2;
    /** {@code ERROR_NOT_READY}. */
    int ERROR_NOT_READY = -11;
    /** {@code ERROR_BUFFERFULL}. */
    int ERROR_BUFFERFULL = -13;
    /** {@code libxl_sigchld_owner_libxl_always_selective_reap}: reap only libxl's own children. */
    int SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP = 3;
    /** {@code LIBXL_EVENTMASK_ALL}. */
    long EVENTMASK_ALL = ~0L;

    // Context.
    int libxl_ctx_alloc(PointerByReference context, int version, int flags, Pointer logger);

    int libxl_ctx_free(Pointer context);

    /** {@code const libxl_version_info *}, owned by the context. */
    Pointer libxl_get_version_info(Pointer context);

    void libxl_childproc_setmode(Pointer context, Pointer hooks, Pointer user);

    // Host.
    int libxl_get_online_cpus(Pointer context);

    int libxl_get_free_memory(Pointer context, LongByReference memoryKib);

    // Domains.
    Pointer libxl_list_domain(Pointer context, IntByReference count);

    void libxl_dominfo_list_free(Pointer list, int count);

    void libxl_dominfo_init(DomInfo info);

    void libxl_dominfo_dispose(DomInfo info);

    int libxl_domain_info(Pointer context, DomInfo info, int domid);

    /** {@code int libxl_get_memory_target(libxl_ctx *, uint32_t domid, uint64_t *out_target)}: KiB. */
    int libxl_get_memory_target(Pointer context, int domid, LongByReference targetKib);

    int libxl_name_to_domid(Pointer context, String name, IntByReference domid);

    /** Returns a malloc'd string, or NULL. */
    Pointer libxl_domid_to_name(Pointer context, int domid);

    int libxl_domain_rename(Pointer context, int domid, String oldName, String newName);

    // Configuration, as an opaque buffer of DOMAIN_CONFIG_SIZE bytes.
    void libxl_domain_config_init(Pointer config);

    void libxl_domain_config_dispose(Pointer config);

    int libxl_domain_config_from_json(Pointer context, Pointer config, String json);

    /** Returns a malloc'd string, or NULL. */
    Pointer libxl_domain_config_to_json(Pointer context, Pointer config);

    void libxl_domain_restore_params_init(Pointer params);

    void libxl_domain_restore_params_dispose(Pointer params);

    // Lifecycle (ao_how NULL: synchronous).
    int libxl_domain_create_new(Pointer context, Pointer config, IntByReference domid, Pointer aoHow,
                                Pointer consoleHow);

    int libxl_domain_create_restore(Pointer context, Pointer config, IntByReference domid, int restoreFd,
                                    int sendBackFd, Pointer params, Pointer aoHow, Pointer consoleHow);

    int libxl_domain_suspend(Pointer context, int domid, int fd, int flags, Pointer aoHow);

    int libxl_domain_resume(Pointer context, int domid, int suspendCancel, Pointer aoHow);

    int libxl_domain_shutdown(Pointer context, int domid, Pointer aoHow);

    int libxl_domain_reboot(Pointer context, int domid, Pointer aoHow);

    int libxl_domain_destroy(Pointer context, int domid, Pointer aoHow);

    int libxl_domain_pause(Pointer context, int domid, Pointer aoHow);

    int libxl_domain_unpause(Pointer context, int domid, Pointer aoHow);

    // Events.
    void libxl_event_register_callbacks(Pointer context, EventHooks hooks, Pointer user);

    int libxl_evenable_domain_death(Pointer context, int domid, long user, PointerByReference generator);

    void libxl_evdisable_domain_death(Pointer context, Pointer generator);

    void libxl_event_free(Pointer context, Pointer event);

    int libxl_osevent_beforepoll(Pointer context, IntByReference count, Pointer fds, IntByReference timeoutMillis,
                                 Timeval.ByValue now);

    void libxl_osevent_afterpoll(Pointer context, int count, Pointer fds, Timeval.ByValue now);

    /** {@code void (*event_occurs)(void *user, const libxl_event *event)}. */
    interface EventOccurs extends Callback {
        void invoke(Pointer user, Pointer event);
    }

    /** {@code void (*disaster)(void *user, libxl_event_type type, const char *msg, int errnoval)}. */
    interface Disaster extends Callback {
        void invoke(Pointer user, int type, String message, int errno);
    }
}
