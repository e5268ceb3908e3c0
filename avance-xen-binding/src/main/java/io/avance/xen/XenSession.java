package io.avance.xen;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.xen.libxl.DomInfo;
import io.avance.xen.libxl.EventHooks;
import io.avance.xen.libxl.LibXenLight;
import io.avance.xen.libxl.LibXenToolLog;
import io.avance.xen.libxl.LibxlEvent;
import io.avance.xen.libxl.NativeLayout;
import io.avance.xen.libxl.XenLibraries;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;

/**
 * One connection to Xen: the toolstack logger, a libxl context, a libxenctrl handle and a
 * foreign-memory handle, and the typed calls the adapter makes through them.
 *
 * <p>Ownership: the session owns every native handle it opens and releases them in reverse
 * order in {@link #close()}. It never passes a NULL or freed handle to a library: each call
 * checks that the session is open, and the adapter's lifecycle lock keeps {@code close} from
 * running while a call is inside libxl. The hook tables and callback objects libxl keeps
 * pointers to are fields of this object, so they live exactly as long as the context.
 *
 * <p>Thread-safety: a libxl context is thread-safe (libxl.h, "libxl memory management"), so
 * any thread may call any method; the event loop ({@link LibxlEventLoop}) runs on its own
 * thread. Failures come back as {@link HypervisorException}s that name the call, libxl's error
 * code and the last error lines libxl logged.
 */
final class XenSession implements AutoCloseable {

    private static final Logger LOG = System.getLogger(XenSession.class.getName());
    /** How much of the end of the libxl log an error message quotes. */
    private static final int LOG_TAIL_BYTES = 4096;

    private final XenLibraries libraries;
    private final LibXenLight light;
    private final Path logPath;
    private final Pointer logFile;
    private final Pointer logger;
    private final Pointer context;
    private final Pointer control;
    private final Pointer foreignMemory;
    /** {@code libxl_childproc_hooks}, which libxl keeps a pointer to. */
    private final Memory childprocHooks;
    /** {@code libxl_event_hooks} and its two callbacks, which libxl keeps pointers to. */
    private final EventHooks eventHooks;
    private volatile boolean closed;

    private XenSession(XenLibraries libraries, Path logPath, Pointer logFile, Pointer logger, Pointer context,
                       Pointer control, Pointer foreignMemory, Memory childprocHooks, EventHooks eventHooks) {
        this.libraries = libraries;
        this.light = libraries.light();
        this.logPath = logPath;
        this.logFile = logFile;
        this.logger = logger;
        this.context = context;
        this.control = control;
        this.foreignMemory = foreignMemory;
        this.childprocHooks = childprocHooks;
        this.eventHooks = eventHooks;
    }

    /**
     * Opens the handles. Call only after {@link XenProbe} said Xen is here.
     *
     * @param libraries the loaded libraries
     * @param logPath   the file libxl, libxenctrl and libxenforeignmemory log to
     * @param events    receives each domain event; called on whatever thread is inside libxl
     *                  at the time, so it must only hand the event over
     * @param disaster  receives libxl's report that events may have been lost; must not call
     *                  libxl
     * @return the open session
     * @throws HypervisorException if a handle cannot be opened; nothing is left open
     */
    static XenSession open(XenLibraries libraries, Path logPath, Consumer<DomainEvent> events,
                           Consumer<String> disaster) {
        Pointer file = libraries.c().fopen(logPath.toString(), "a");
        if (file == null) {
            int errno = Native.getLastError();
            throw new HypervisorException("cannot open the Xen toolstack log " + logPath + ": "
                    + libraries.c().strerror(errno));
        }
        // A logger is mandatory: libxl_ctx_alloc with a NULL logger segfaults on its error path.
        Pointer logger = libraries.log().xtl_createlogger_stdiostream(file, LibXenToolLog.XTL_INFO,
                LibXenToolLog.XTL_STDIOSTREAM_SHOW_DATE | LibXenToolLog.XTL_STDIOSTREAM_SHOW_PID
                        | LibXenToolLog.XTL_STDIOSTREAM_HIDE_PROGRESS);
        if (logger == null) {
            libraries.c().fclose(file);
            throw new HypervisorException("xtl_createlogger_stdiostream failed");
        }
        PointerByReference contextOut = new PointerByReference();
        int rc = libraries.light().libxl_ctx_alloc(contextOut, LibXenLight.LIBXL_VERSION, 0, logger);
        int errno = Native.getLastError();
        Pointer context = contextOut.getValue();
        if (rc != 0 || context == null) {
            String tail = tail(libraries, file, logPath);
            libraries.light().libxl_ctx_free(context);
            libraries.log().xtl_logger_destroy(logger);
            libraries.c().fclose(file);
            throw new HypervisorException("libxl_ctx_alloc failed: " + LibxlErrors.describe(rc) + ", errno " + errno
                    + " (" + libraries.c().strerror(errno) + ")" + tail);
        }
        Pointer control = null;
        Pointer foreign = null;
        try {
            checkVersion(libraries, context);
            control = libraries.control().xc_interface_open(logger, logger, 0);
            if (control == null) {
                throw new HypervisorException("xc_interface_open failed: "
                        + libraries.c().strerror(Native.getLastError()));
            }
            foreign = libraries.foreignMemory().xenforeignmemory_open(logger, 0);
            if (foreign == null) {
                throw new HypervisorException("xenforeignmemory_open failed: "
                        + libraries.c().strerror(Native.getLastError()));
            }
        } catch (RuntimeException e) {
            if (foreign != null) {
                libraries.foreignMemory().xenforeignmemory_close(foreign);
            }
            if (control != null) {
                libraries.control().xc_interface_close(control);
            }
            libraries.light().libxl_ctx_free(context);
            libraries.log().xtl_logger_destroy(logger);
            libraries.c().fclose(file);
            throw e;
        }
        // libxl forks libxl-save-helper for every save and restore. Selective reaping makes it
        // wait only for its own children, so it never steals the exit status of a process the
        // JVM started (libvirt makes the same choice).
        Memory childproc = new Memory(NativeLayout.CHILDPROC_HOOKS_SIZE);
        childproc.clear();
        childproc.setInt(NativeLayout.CHILDPROC_HOOKS_CHLDOWNER, LibXenLight.SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP);
        libraries.light().libxl_childproc_setmode(context, childproc, null);

        EventHooks hooks = new EventHooks();
        hooks.event_occurs_mask = LibXenLight.EVENTMASK_ALL;
        Pointer contextForCallback = context;
        hooks.event_occurs = (user, event) -> {
            // Runs on any thread inside libxl. Copy what is needed, free the event, hand over.
            DomainEvent copied = null;
            try {
                LibxlEvent read = new LibxlEvent(event);
                copied = new DomainEvent(read.type, read.domid, read.shutdownReason());
            } catch (Throwable t) {
                LOG.log(Level.ERROR, "cannot read a libxl event", t);
            } finally {
                libraries.light().libxl_event_free(contextForCallback, event);
            }
            if (copied != null) {
                try {
                    events.accept(copied);
                } catch (Throwable t) {
                    LOG.log(Level.ERROR, "the domain event handler failed", t);
                }
            }
        };
        hooks.disaster = (user, type, message, errnoValue) -> {
            try {
                disaster.accept("libxl event machinery failed (event type " + type + "): " + message + ", errno "
                        + errnoValue);
            } catch (Throwable t) {
                LOG.log(Level.ERROR, "the disaster handler failed", t);
            }
        };
        hooks.write();
        libraries.light().libxl_event_register_callbacks(context, hooks, null);
        return new XenSession(libraries, logPath, file, logger, context, control, foreign, childproc, hooks);
    }

    private static void checkVersion(XenLibraries libraries, Pointer context) {
        Pointer info = libraries.light().libxl_get_version_info(context);
        if (info == null) {
            throw new HypervisorException("libxl_get_version_info returned nothing");
        }
        int major = info.getInt(NativeLayout.VERSION_INFO_MAJOR);
        int minor = info.getInt(NativeLayout.VERSION_INFO_MINOR);
        // The structure layouts of this binding are those of 4.17's tools; the hypervisor
        // itself must be the same release for libxenctrl's domctl interface version to match.
        if (major != 4 || minor != 17) {
            throw new HypervisorException("the hypervisor is Xen " + major + "." + minor
                    + "; this binding supports Xen 4.17 only");
        }
    }

    /** A domain event, copied out of libxl's {@code libxl_event}. */
    record DomainEvent(int type, int domid, int shutdownReason) {
    }

    XenLibraries libraries() {
        return libraries;
    }

    /** The libxl context, for the event loop. */
    Pointer context() {
        if (closed) {
            throw new HypervisorException("the Xen adapter is closed");
        }
        return context;
    }

    /** The libxenctrl handle. */
    Pointer control() {
        context();
        return control;
    }

    /** The foreign-memory handle. */
    Pointer foreignMemory() {
        context();
        return foreignMemory;
    }

    /**
     * Every domain, dom0 included.
     *
     * @return the domains with their names
     */
    List<DomainSnapshot> listDomains() {
        IntByReference count = new IntByReference();
        Pointer list = light.libxl_list_domain(context(), count);
        if (list == null) {
            throw failure("libxl_list_domain", LibxlErrors.FAIL);
        }
        try {
            int n = count.getValue();
            List<DomainSnapshot> domains = new ArrayList<>(n);
            if (n > 0) {
                DomInfo[] infos = (DomInfo[]) new DomInfo(list).toArray(n);
                for (DomInfo info : infos) {
                    String name = nameOf(info.domid);
                    domains.add(snapshot(info, name == null ? "" : name));
                }
            }
            return domains;
        } finally {
            light.libxl_dominfo_list_free(list, count.getValue());
        }
    }

    /**
     * One domain.
     *
     * @param domid the domain
     * @return what libxl reports, or empty if there is no such domain
     */
    Optional<DomainSnapshot> domainInfo(int domid) {
        DomInfo info = new DomInfo();
        light.libxl_dominfo_init(info);
        try {
            int rc = light.libxl_domain_info(context(), info, domid);
            if (rc == LibxlErrors.DOMAIN_NOTFOUND) {
                return Optional.empty();
            }
            check("libxl_domain_info of domain " + domid, rc);
            String name = nameOf(domid);
            return Optional.of(snapshot(info, name == null ? "" : name));
        } finally {
            light.libxl_dominfo_dispose(info);
        }
    }

    private static DomainSnapshot snapshot(DomInfo info, String name) {
        return new DomainSnapshot(info.domid, name, info.running != 0, info.blocked != 0, info.paused != 0,
                info.shutdown != 0, info.dying != 0, info.shutdown_reason, info.current_memkb, info.max_memkb,
                info.vcpu_online, info.domain_type);
    }

    /**
     * The memory Xen has assigned a domain: its balloon target, which libxl sets to the
     * configuration's {@code target_memkb} at creation.
     *
     * @param domid the domain
     * @return the target in bytes
     */
    long memoryTargetBytes(int domid) {
        LongByReference kib = new LongByReference();
        check("libxl_get_memory_target of domain " + domid, light.libxl_get_memory_target(context(), domid, kib));
        return kib.getValue() * 1024;
    }

    private String nameOf(int domid) {
        Pointer name = light.libxl_domid_to_name(context(), domid);
        if (name == null) {
            return null;
        }
        try {
            return name.getString(0, StandardCharsets.UTF_8.name());
        } finally {
            libraries.c().free(name);
        }
    }

    /**
     * Parses a configuration with libxl and checks libxl kept every value ({@link
     * DomainConfigJson#checkRoundTrip}); creates nothing.
     *
     * @param vm     the VM, for messages
     * @param config the configuration
     */
    void checkConfig(String vm, Map<String, Object> config) {
        withConfig(vm, config, parsed -> 0);
    }

    /**
     * Creates a paused domain.
     *
     * @param vm     the VM, for messages
     * @param config its configuration
     * @return the new domain's id
     */
    int createDomain(String vm, Map<String, Object> config) {
        return withConfig(vm, config, parsed -> {
            IntByReference domid = new IntByReference(-1);
            CloseOnExec.markAll(libraries.c());
            check("libxl_domain_create_new of VM '" + vm + "'",
                    light.libxl_domain_create_new(context(), parsed, domid, null, null));
            return domid.getValue();
        });
    }

    /**
     * Creates a paused domain from a libxl migration stream (stream version 2, as
     * {@code libxl_domain_suspend} writes it).
     *
     * @param vm       the VM, for messages
     * @param config   its configuration
     * @param streamFd the stream's read end
     * @return the new domain's id
     */
    int restoreDomain(String vm, Map<String, Object> config, int streamFd) {
        return withConfig(vm, config, parsed -> {
            Memory params = new Memory(NativeLayout.RESTORE_PARAMS_SIZE);
            params.clear();
            light.libxl_domain_restore_params_init(params);
            try {
                params.setInt(NativeLayout.RESTORE_PARAMS_STREAM_VERSION, 2);
                IntByReference domid = new IntByReference(-1);
                CloseOnExec.markAll(libraries.c());
                check("libxl_domain_create_restore of VM '" + vm + "'",
                        light.libxl_domain_create_restore(context(), parsed, domid, streamFd, -1, params, null, null));
                return domid.getValue();
            } finally {
                light.libxl_domain_restore_params_dispose(params);
            }
        });
    }

    private int withConfig(String vm, Map<String, Object> config, ToIntFunction<Pointer> use) {
        try {
            return LibxlConfigParser.parse(light, libraries.c(), context(), vm, config, use);
        } catch (HypervisorException e) {
            if (e.getMessage().contains("libxl_domain_config_from_json")) {
                throw new HypervisorException(e.getMessage() + tail(libraries, logFile, logPath), e);
            }
            throw e;
        }
    }

    void suspendLive(int domid, int fd) {
        CloseOnExec.markAll(libraries.c());
        check("libxl_domain_suspend (live) of domain " + domid,
                light.libxl_domain_suspend(context(), domid, fd, LibXenLight.LIBXL_SUSPEND_LIVE, null));
    }

    void resumeSuspended(int domid) {
        CloseOnExec.markAll(libraries.c());
        check("libxl_domain_resume of domain " + domid, light.libxl_domain_resume(context(), domid, 1, null));
    }

    void shutdown(int domid) {
        int rc = light.libxl_domain_shutdown(context(), domid, null);
        if (rc == LibxlErrors.NOPARAVIRT) {
            throw failure("libxl_domain_shutdown of domain " + domid
                    + " (the guest has no PV control interface; destroy it instead)", rc);
        }
        check("libxl_domain_shutdown of domain " + domid, rc);
    }

    void reboot(int domid) {
        check("libxl_domain_reboot of domain " + domid, light.libxl_domain_reboot(context(), domid, null));
    }

    void destroy(int domid) {
        CloseOnExec.markAll(libraries.c());
        check("libxl_domain_destroy of domain " + domid, light.libxl_domain_destroy(context(), domid, null));
    }

    void pause(int domid) {
        check("libxl_domain_pause of domain " + domid, light.libxl_domain_pause(context(), domid, null));
    }

    void unpause(int domid) {
        check("libxl_domain_unpause of domain " + domid, light.libxl_domain_unpause(context(), domid, null));
    }

    void rename(int domid, String from, String to) {
        check("libxl_domain_rename of domain " + domid + " from '" + from + "' to '" + to + "'",
                light.libxl_domain_rename(context(), domid, from, to));
    }

    /**
     * Asks libxl for the shutdown and death events of a domain.
     *
     * @param domid the domain
     * @return the generator, to pass to {@link #disableDeathEvents}
     */
    Pointer enableDeathEvents(int domid) {
        PointerByReference generator = new PointerByReference();
        check("libxl_evenable_domain_death of domain " + domid,
                light.libxl_evenable_domain_death(context(), domid, domid & 0xffffffffL, generator));
        return generator.getValue();
    }

    void disableDeathEvents(Pointer generator) {
        if (generator != null) {
            light.libxl_evdisable_domain_death(context(), generator);
        }
    }

    int onlineCpus() {
        int cpus = light.libxl_get_online_cpus(context());
        if (cpus < 0) {
            throw failure("libxl_get_online_cpus", cpus);
        }
        return cpus;
    }

    long freeMemoryBytes() {
        LongByReference kib = new LongByReference();
        check("libxl_get_free_memory", light.libxl_get_free_memory(context(), kib));
        return kib.getValue() * 1024;
    }

    /**
     * Throws if a libxl call failed.
     *
     * @param what the call, for the message
     * @param rc   its return value
     */
    void check(String what, int rc) {
        if (rc != 0) {
            throw failure(what, rc);
        }
    }

    HypervisorException failure(String what, int rc) {
        return new HypervisorException(what + " failed: " + LibxlErrors.describe(rc)
                + tail(libraries, closed ? null : logFile, logPath));
    }

    /** The last error lines of the toolstack log, to put into an exception message. */
    private static String tail(XenLibraries libraries, Pointer file, Path path) {
        if (file != null) {
            libraries.c().fflush(file);
        }
        try (RandomAccessFile log = new RandomAccessFile(path.toFile(), "r")) {
            long length = log.length();
            int size = (int) Math.min(length, LOG_TAIL_BYTES);
            byte[] bytes = new byte[size];
            log.seek(length - size);
            log.readFully(bytes);
            String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
            List<String> errors = new ArrayList<>();
            for (String line : lines) {
                if (line.contains("error") || line.contains("failed") || line.contains("ERROR")) {
                    errors.add(line.strip());
                }
            }
            if (errors.isEmpty()) {
                return "";
            }
            List<String> last = errors.subList(Math.max(0, errors.size() - 3), errors.size());
            return "; libxl log (" + path + "): " + String.join(" | ", last);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Releases every handle, in reverse order. The caller guarantees no call is in progress.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        libraries.foreignMemory().xenforeignmemory_close(foreignMemory);
        libraries.control().xc_interface_close(control);
        light.libxl_ctx_free(context);
        libraries.log().xtl_logger_destroy(logger);
        libraries.c().fclose(logFile);
        // Reachable until here: libxl held pointers to both until libxl_ctx_free.
        java.lang.ref.Reference.reachabilityFence(childprocHooks);
        java.lang.ref.Reference.reachabilityFence(eventHooks);
    }
}
