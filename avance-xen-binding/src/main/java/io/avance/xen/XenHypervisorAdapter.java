package io.avance.xen;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.avance.api.hypervisor.Availability;
import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.NativeMigration;
import io.avance.api.hypervisor.PeerFencer;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmEventListener;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.xen.libxl.DomInfo;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.LibxlEvent;
import io.avance.xen.libxl.XenLibraries;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The reference {@link HypervisorAdapter}: Xen 4.17 through libxl ({@code libxenlight.so.4.17}),
 * called through JNA from a dom0.
 *
 * <p>What it supports: HVM and PVH guests ({@code xen.type}, default PVH; PV guests are refused
 * because Debian's Xen has no shadow paging, so they can neither log dirty pages nor
 * live-migrate). Lifecycle (define, start, shutdown, reboot, destroy, pause, resume), domain
 * shutdown and death events, Xen's native live migration ({@code libxl_domain_suspend} with
 * {@code LIBXL_SUSPEND_LIVE} into the engine's channel, {@code libxl_domain_create_restore} from
 * it on the peer), and guest memory with dirty-page logging for the engine's own pre-copy. It
 * has no device-state capture, so an engine pre-copy can read a VM out of Xen but not build one
 * into it ({@link #prepareIncoming} and {@link #saveDeviceState} are unsupported): migrations
 * into Xen use {@link #nativeMigration()}.
 *
 * <p>How Xen maps onto the SPI:
 * <ul>
 *   <li>A VM is a definition kept by the adapter (Xen has no stopped domains) plus, while it
 *       is active, one domain of the same name. Definitions live in
 *       {@code stateDirectory()/vms}.</li>
 *   <li>Xen leaves a guest that shut down, rebooted or crashed as a "shutdown" domain until the
 *       toolstack acts. The adapter's supervisor does what {@code xl} does by default: destroys
 *       it after a power-off or a crash (reporting {@link VmEvent.Kind#SHUT_DOWN} or
 *       {@link VmEvent.Kind#CRASHED}), and rebuilds it after a reboot
 *       ({@link VmEvent.Kind#REBOOTED}).</li>
 *   <li>During a native migration the source domain is renamed {@code NAME--migratedaway} once
 *       its stream is sent, and the target is built as {@code NAME--incoming}, paused, until
 *       {@link #resume} on the target renames and unpauses it. So two domains of one VM can
 *       share a host, and they never both run.</li>
 * </ul>
 *
 * <p>Thread-safety: every method may be called from several threads. Operations on one VM are
 * serialised by a per-VM lock; libxl's context is thread-safe. Events are delivered on the
 * adapter's thread {@code avance-xen-supervisor}, in order.
 *
 * <p>Crash safety: before touching libxl, {@link #probe()} checks for a dom0 from files alone
 * and {@link #open} refuses with what is missing; a logger is always passed to libxl; C
 * {@code bool} fields are bytes; strings libxl allocates are freed with libc {@code free};
 * guest pages are read only after their per-page error is checked; the callbacks and hook
 * tables libxl keeps are held for the life of the context; {@link #close()} never frees the
 * context while a call is inside it.
 *
 * <p>The state of the adapter itself:
 * <pre>
 *   NEW --open ok--&gt; OPEN --close--&gt; CLOSING --&gt; CLOSED
 *    ^--open failed--'
 * </pre>
 */
public final class XenHypervisorAdapter implements HypervisorAdapter {

    private static final Logger LOG = System.getLogger(XenHypervisorAdapter.class.getName());
    /** The longest a waiting call sleeps between checks when no event wakes it. */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /** The adapter's lifecycle. */
    enum AdapterState {
        /** Created, not connected. */
        NEW,
        /** Connected to Xen. */
        OPEN,
        /** Refusing new calls, waiting for calls in progress, releasing native handles. */
        CLOSING,
        /** Disconnected for good. */
        CLOSED;

        /** The legal moves. */
        boolean canMoveTo(AdapterState next) {
            return switch (this) {
                case NEW -> next == OPEN || next == CLOSED;
                case OPEN -> next == CLOSING;
                case CLOSING -> next == CLOSED;
                case CLOSED -> false;
            };
        }
    }

    /** What the adapter expects the next end of a domain to mean, so events say the right thing. */
    private enum Expectation {
        /** Nothing planned: an end is the guest's own doing, or another tool's. */
        NONE,
        /** The domain has been migrated away: its suspension and destruction are not events. */
        MIGRATED_AWAY
    }

    /** A domain whose shutdown and death events the adapter has asked libxl for. */
    private static final class Watch {
        final int domid;
        final String vm;
        final Pointer generator;
        volatile Expectation expected = Expectation.NONE;
        /** Set once the adapter has reported how this domain ended. */
        volatile boolean reported;

        Watch(int domid, String vm, Pointer generator) {
            this.domid = domid;
            this.vm = vm;
            this.generator = generator;
        }
    }

    private final XenAdapterSettings settings;
    private final XenProbe probe;
    private final Supplier<XenLibraries> libraryLoader;
    private final Clock clock;
    /** Held for reading by every call into libxl, for writing by {@link #close()} to free the context. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    /** Guards moves of {@link #state}. */
    private final Object stateMonitor = new Object();
    private final Map<String, ReentrantLock> vmLocks = new ConcurrentHashMap<>();
    private final Map<Integer, Watch> watches = new ConcurrentHashMap<>();
    /** The state of defined VMs that have no domain (DEFINED, STOPPED or CRASHED). */
    private final Map<String, VmState> outcomes = new ConcurrentHashMap<>();
    private final Set<Integer> dirtyLogging = ConcurrentHashMap.newKeySet();
    private final Set<Integer> migrating = ConcurrentHashMap.newKeySet();
    /** Open guest-memory handles per domain, closed when the domain dies. */
    private final Map<Integer, Set<XenGuestMemory>> memories = new ConcurrentHashMap<>();
    private final List<VmEventListener> listeners = new CopyOnWriteArrayList<>();
    /** Notified after every domain event, for calls that wait for a domain to change. */
    private final Object changed = new Object();
    private volatile AdapterState state = AdapterState.NEW;
    private volatile String disaster;
    private XenSession session;
    private LibxlEventLoop eventLoop;
    private VmDefinitions definitions;
    private HypervisorContext context;
    private ExecutorService supervisor;
    private volatile Thread supervisorThread;
    private ExecutorService workers;

    /** The adapter for this machine, with default settings; what {@link java.util.ServiceLoader} makes. */
    public XenHypervisorAdapter() {
        this(XenAdapterSettings.defaults());
    }

    /**
     * The adapter for this machine.
     *
     * @param settings timeouts
     */
    public XenHypervisorAdapter(XenAdapterSettings settings) {
        this(settings, Paths.get("/"), XenLibraries::load, Clock.systemUTC());
    }

    /**
     * For tests: another file-system root for the probe, another way to load the libraries.
     */
    XenHypervisorAdapter(XenAdapterSettings settings, Path root, Supplier<XenLibraries> libraryLoader, Clock clock) {
        this.settings = settings;
        this.probe = new XenProbe(root);
        this.libraryLoader = libraryLoader;
        this.clock = clock;
    }

    @Override
    public String name() {
        return "xen";
    }

    /**
     * Checks for a Xen 4.17 dom0 from files alone: {@code /proc/xen/capabilities} with
     * {@code control_d}, {@code /dev/xen/privcmd}, {@code /dev/xen/evtchn} and a running
     * xenstored. Loads no library and calls no hypervisor.
     */
    @Override
    public Availability probe() {
        return probe.check();
    }

    /**
     * Connects to Xen: loads the libraries by soname, opens libxl with a logger writing to
     * {@code stateDirectory()/xen-toollog.log}, starts the event loop, and re-attaches to the
     * domains of VMs defined before a restart.
     *
     * @throws HypervisorException saying what is missing (not a dom0, a library not installed,
     *                             a hypervisor that is not 4.17) or what libxl answered; the
     *                             adapter can then be opened again
     */
    @Override
    public void open(HypervisorContext context) {
        synchronized (stateMonitor) {
            if (state != AdapterState.NEW) {
                throw new IllegalStateException("the Xen adapter is " + state + ", not NEW");
            }
            Availability available = probe.check();
            if (!available.available()) {
                throw new HypervisorException("Xen is not available: " + available.reason());
            }
            XenLibraries libraries;
            try {
                libraries = libraryLoader.get();
            } catch (UnsatisfiedLinkError e) {
                throw new HypervisorException("the Xen 4.17 libraries are not installed: " + e.getMessage(), e);
            }
            Path directory = context.stateDirectory();
            try {
                Files.createDirectories(directory);
            } catch (IOException e) {
                throw new HypervisorException("cannot create the adapter's directory " + directory + ": "
                        + e.getMessage(), e);
            }
            VmDefinitions loaded = new VmDefinitions(directory.resolve("vms"));
            ExecutorService events = Executors.newSingleThreadExecutor(daemon("avance-xen-supervisor", true));
            ExecutorService pool = Executors.newCachedThreadPool(daemon("avance-xen-worker", false));
            XenSession opened;
            try {
                opened = XenSession.open(libraries, directory.resolve("xen-toollog.log"),
                        event -> events.execute(() -> onDomainEvent(event)), this::onDisaster);
            } catch (RuntimeException e) {
                events.shutdownNow();
                pool.shutdownNow();
                throw e;
            }
            this.session = opened;
            this.definitions = loaded;
            this.context = context;
            this.supervisor = events;
            this.workers = pool;
            this.eventLoop = new LibxlEventLoop(opened, clock);
            transition(AdapterState.OPEN, "opened on " + context.node());
            for (VmDefinitions.Definition definition : loaded.all()) {
                String vm = definition.spec().name();
                outcomes.put(vm, VmState.DEFINED);
                try {
                    for (DomainSnapshot domain : domainsOf(vm)) {
                        watch(domain.domid(), vm);
                        outcomes.remove(vm);
                    }
                } catch (HypervisorException e) {
                    LOG.log(Level.WARNING, "cannot re-attach to the domain of VM ''{0}'': {1}", vm, e.getMessage());
                }
            }
        }
    }

    private ThreadFactory daemon(String name, boolean supervisorThread) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, supervisorThread ? name : name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            if (supervisorThread) {
                this.supervisorThread = thread;
            }
            return thread;
        };
    }

    private void transition(AdapterState next, String reason) {
        AdapterState current = state;
        if (!current.canMoveTo(next)) {
            throw new IllegalStateException("Xen adapter: illegal move " + current + " -> " + next + " (" + reason + ")");
        }
        state = next;
        LOG.log(Level.INFO, "Xen adapter {0} -> {1}: {2}", current, next, reason);
    }

    @Override
    public Set<Capability> capabilities() {
        return Collections.unmodifiableSet(EnumSet.of(Capability.PAUSE, Capability.REBOOT,
                Capability.GUEST_MEMORY_ACCESS, Capability.DIRTY_PAGE_LOGGING, Capability.NATIVE_MIGRATION));
    }

    /**
     * The physical CPUs Xen has online, and the memory Xen has free for new guests now.
     */
    @Override
    public HostResources hostResources() {
        return call(s -> new HostResources(s.onlineCpus(), s.freeMemoryBytes()));
    }

    @Override
    public List<VmInfo> list() {
        requireOpen();
        List<VmInfo> result = new ArrayList<>();
        for (VmDefinitions.Definition definition : definitions.all()) {
            info(definition.spec().name()).ifPresent(result::add);
        }
        return result;
    }

    @Override
    public Optional<VmInfo> info(String vm) {
        requireOpen();
        Optional<VmDefinitions.Definition> definition = definitions.get(vm);
        if (definition.isEmpty()) {
            return Optional.empty();
        }
        Optional<DomainSnapshot> domain = primaryDomain(vm);
        VmSpec spec = definition.get().spec();
        if (domain.isEmpty()) {
            return Optional.of(new VmInfo(vm, outcomes.getOrDefault(vm, VmState.STOPPED), spec.cores(),
                    spec.memoryBytes(), ""));
        }
        DomainSnapshot d = domain.get();
        return Optional.of(new VmInfo(vm, DomainStates.of(d), d.onlineVcpus(), memoryOf(d),
                Integer.toString(d.domid())));
    }

    /** The memory Xen assigned a domain (its target), or what it holds if the target is unreadable. */
    private long memoryOf(DomainSnapshot domain) {
        try {
            return call(s -> s.memoryTargetBytes(domain.domid()));
        } catch (HypervisorException e) {
            return domain.currentKib() * 1024;
        }
    }

    /**
     * Validates the spec (options, limits, and libxl's own parse of the configuration it
     * makes, checked value by value) and stores it. Starts nothing.
     *
     * @throws HypervisorException if the spec is refused, a different VM of that name is
     *                             defined, or a domain of that name exists that this adapter
     *                             did not make
     */
    @Override
    public void define(VmSpec spec) {
        requireOpen();
        withVmLock(spec.name(), () -> defineLocked(spec, false));
    }

    /**
     * Defines a VM; the caller holds the VM's lock (or, on a migration target, the incoming
     * copy's).
     *
     * @param spec        the VM
     * @param migrationIn true on the target of a migration, where a domain of that name may
     *                    exist: the source's, when both ends share a host
     */
    private void defineLocked(VmSpec spec, boolean migrationIn) {
        String vm = spec.name();
        synchronized (definitions) {
            Optional<VmDefinitions.Definition> existing = definitions.get(vm);
            if (existing.isPresent()) {
                if (existing.get().spec().equals(spec)) {
                    return;
                }
                throw new HypervisorException("a different VM named '" + vm + "' is defined: " + existing.get().spec());
            }
            DomainConfigJson.validate(spec);
            if (!migrationIn && !domainsOf(vm).isEmpty()) {
                throw new HypervisorException("a Xen domain named '" + vm + "' exists that this adapter did not"
                        + " define; destroy it or choose another name");
            }
            UUID uuid = UUID.randomUUID();
            List<URI> placeholders = new ArrayList<>();
            for (VmSpec.Disk disk : spec.disks()) {
                placeholders.add(URI.create("nbd://localhost/" + disk.volume()));
            }
            Map<String, Object> config = DomainConfigJson.build(spec, vm, uuid, placeholders);
            call(s -> {
                s.checkConfig(vm, config);
                return null;
            });
            definitions.put(new VmDefinitions.Definition(spec, uuid));
            outcomes.put(vm, VmState.DEFINED);
        }
    }

    /**
     * Forgets a VM that has no domain.
     *
     * @throws HypervisorException if the VM is not defined or still has a domain
     */
    @Override
    public void undefine(String vm) {
        requireDefinition(vm);
        withVmLock(vm, () -> {
            List<DomainSnapshot> domains = ownDomainsOf(vm);
            if (!domains.isEmpty()) {
                throw new HypervisorException("VM '" + vm + "' still has domain " + domains.get(0).domid() + " ("
                        + DomainStates.of(domains.get(0)) + "); destroy it first");
            }
            definitions.remove(vm);
            outcomes.remove(vm);
        });
    }

    /**
     * Builds the VM's domain from its definition (attaching its disks through the context),
     * and unpauses it.
     *
     * @throws HypervisorException if the VM is not defined, already runs, is paused or changing
     *                             state, its kernel cannot be read, or libxl refuses
     */
    @Override
    public void start(String vm) {
        VmDefinitions.Definition definition = requireDefinition(vm);
        withVmLock(vm, () -> {
            Optional<DomainSnapshot> domain = primaryDomain(vm);
            if (domain.isPresent()) {
                VmState current = DomainStates.of(domain.get());
                throw new HypervisorException("VM '" + vm + "' cannot start: it is " + current + " (domain "
                        + domain.get().domid() + ")" + (current == VmState.RUNNING ? ", already running" : ""));
            }
            if (domainNamed(vm).isPresent()) {
                throw new HypervisorException("VM '" + vm + "' cannot start: a Xen domain of that name exists that"
                        + " this adapter does not own");
            }
            buildDomain(definition);
            emit(vm, VmEvent.Kind.STARTED, "started");
        });
    }

    /** Creates, watches and unpauses the VM's domain. Called with the VM's lock held. */
    private int buildDomain(VmDefinitions.Definition definition) {
        VmSpec spec = definition.spec();
        String vm = spec.name();
        DomainConfigJson.Settings options = DomainConfigJson.validate(spec);
        for (Optional<String> file : List.of(options.kernel(), options.ramdisk())) {
            if (file.isPresent() && !Files.isReadable(Paths.get(file.get()))) {
                throw new HypervisorException("VM '" + vm + "' cannot start: " + file.get() + " is not readable in dom0");
            }
        }
        List<URI> disks = new ArrayList<>();
        for (VmSpec.Disk disk : spec.disks()) {
            disks.add(context.attach(disk).nbdUri());
        }
        Map<String, Object> config = DomainConfigJson.build(spec, vm, definition.uuid(), disks);
        int domid = call(s -> s.createDomain(vm, config));
        try {
            // Watch before unpausing, so that a guest that dies at once is seen.
            watch(domid, vm);
            call(s -> {
                s.unpause(domid);
                return null;
            });
        } catch (RuntimeException e) {
            destroyQuietly(domid, e);
            throw e;
        }
        outcomes.remove(vm);
        return domid;
    }

    private void destroyQuietly(int domid, RuntimeException cause) {
        try {
            call(s -> {
                s.destroy(domid);
                return null;
            });
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Asks the guest to power off (through its PV control interface) and waits, up to the
     * shutdown timeout, until its domain is gone. Shutting down a VM with no domain does
     * nothing.
     *
     * @throws HypervisorException if the guest has no PV control interface, or has not stopped
     *                             in time (it is then left running: destroy it if needed)
     */
    @Override
    public void shutdown(String vm) {
        requireDefinition(vm);
        OptionalInt domid = withVmLock(vm, () -> {
            Optional<DomainSnapshot> domain = primaryDomain(vm);
            if (domain.isEmpty()) {
                return OptionalInt.empty();
            }
            int id = domain.get().domid();
            call(s -> {
                s.shutdown(id);
                return null;
            });
            return OptionalInt.of(id);
        });
        if (domid.isPresent()) {
            awaitCondition(settings.shutdownTimeout(), "VM '" + vm + "' (domain " + domid.getAsInt() + ") to shut down",
                    () -> call(s -> s.domainInfo(domid.getAsInt())).isEmpty());
        }
    }

    /**
     * Destroys the VM's domains at once (the source copy of a migration too). Destroying a VM
     * with no domain does nothing. The {@link VmEvent.Kind#DESTROYED} event follows from libxl's
     * death event.
     */
    @Override
    public void destroy(String vm) {
        requireDefinition(vm);
        withVmLock(vm, () -> {
            for (DomainSnapshot domain : ownDomainsOf(vm)) {
                call(s -> {
                    s.destroy(domain.domid());
                    return null;
                });
            }
            outcomes.put(vm, VmState.STOPPED);
        });
    }

    /**
     * Asks the guest to reboot and waits, up to the reboot timeout, until the adapter has
     * rebuilt its domain and it runs.
     *
     * @throws HypervisorException if the VM has no domain, the guest has no PV control
     *                             interface, or it is not back in time
     */
    @Override
    public void reboot(String vm) {
        requireDefinition(vm);
        int old = withVmLock(vm, () -> {
            DomainSnapshot domain = requireDomain(vm);
            call(s -> {
                s.reboot(domain.domid());
                return null;
            });
            return domain.domid();
        });
        awaitCondition(settings.rebootTimeout(), "VM '" + vm + "' to reboot", () -> {
            if (outcomes.get(vm) == VmState.CRASHED) {
                throw new HypervisorException("VM '" + vm + "' did not come back from its reboot: see its events");
            }
            Optional<DomainSnapshot> now = primaryDomain(vm);
            return now.isPresent() && now.get().domid() != old && DomainStates.of(now.get()) == VmState.RUNNING;
        });
    }

    @Override
    public void pause(String vm) {
        requireDefinition(vm);
        withVmLock(vm, () -> {
            DomainSnapshot domain = requireDomain(vm);
            VmState current = DomainStates.of(domain);
            if (current == VmState.PAUSED) {
                return;
            }
            if (current != VmState.RUNNING) {
                throw new HypervisorException("VM '" + vm + "' cannot pause: it is " + current);
            }
            call(s -> {
                s.pause(domain.domid());
                return null;
            });
            emit(vm, VmEvent.Kind.PAUSED, "paused");
        });
    }

    /**
     * Resumes a paused VM, or, on the target of a native migration, the paused copy
     * {@link NativeMigration#receive} built: it is renamed to the VM's name and unpaused.
     * Resuming a running VM does nothing.
     */
    @Override
    public void resume(String vm) {
        requireDefinition(vm);
        withVmLock(vm, () -> {
            Optional<DomainSnapshot> exact = ownDomainNamed(vm);
            if (exact.isEmpty()) {
                Optional<DomainSnapshot> incoming = ownDomainNamed(vm + DomainStates.INCOMING_SUFFIX);
                if (incoming.isEmpty()) {
                    throw new HypervisorException("VM '" + vm + "' has no domain to resume");
                }
                int domid = incoming.get().domid();
                call(s -> {
                    s.rename(domid, vm + DomainStates.INCOMING_SUFFIX, vm);
                    s.unpause(domid);
                    return null;
                });
                emit(vm, VmEvent.Kind.RESUMED, "resumed after migration in (domain " + domid + ")");
                return;
            }
            VmState current = DomainStates.of(exact.get());
            if (current == VmState.RUNNING) {
                return;
            }
            if (current != VmState.PAUSED) {
                throw new HypervisorException("VM '" + vm + "' cannot resume: it is " + current);
            }
            call(s -> {
                s.unpause(exact.get().domid());
                return null;
            });
            emit(vm, VmEvent.Kind.RESUMED, "resumed");
        });
    }

    @Override
    public AutoCloseable addListener(VmEventListener listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /**
     * The memory of a running HVM or PVH guest, by guest frame number.
     *
     * @throws UnsupportedOperationException for a PV guest
     * @throws HypervisorException           if the VM has no domain
     */
    @Override
    public GuestMemory guestMemory(String vm) {
        requireDefinition(vm);
        return withVmLock(vm, () -> {
            DomainSnapshot domain = requireDomain(vm);
            if (domain.domainType() == DomInfo.TYPE_PV) {
                throw new UnsupportedOperationException("VM '" + vm + "' is a PV guest: guest memory access and"
                        + " dirty-page logging need HVM or PVH");
            }
            int domid = domain.domid();
            long memoryBytes = memoryOf(domain);
            XenGuestMemory memory = call(s -> new XenGuestMemory(s, vm, domid, memoryBytes, () -> {
                if (migrating.contains(domid)) {
                    throw new HypervisorException("VM '" + vm + "' is being migrated by libxl, which owns its"
                            + " dirty-page log");
                }
                if (!dirtyLogging.add(domid)) {
                    throw new HypervisorException("VM '" + vm + "' already logs dirty pages for another user");
                }
            }, () -> dirtyLogging.remove(domid)));
            memories.computeIfAbsent(domid, id -> ConcurrentHashMap.newKeySet()).add(memory);
            return memory;
        });
    }

    /**
     * Not supported: the adapter does not capture virtual CPU and device state outside libxl's
     * stream. Use {@link #nativeMigration()}.
     */
    @Override
    public byte[] saveDeviceState(String vm) {
        throw new UnsupportedOperationException("the Xen adapter has no DEVICE_STATE capability: Xen VMs migrate"
                + " through nativeMigration()");
    }

    /**
     * Not supported: a VM can be built into Xen only from libxl's own stream. Use
     * {@link #nativeMigration()}.
     */
    @Override
    public IncomingVm prepareIncoming(VmSpec spec) {
        throw new UnsupportedOperationException("the Xen adapter cannot build a VM from an engine pre-copy (it has"
                + " no DEVICE_STATE capability); Xen VMs migrate in through nativeMigration()");
    }

    @Override
    public NativeMigration nativeMigration() {
        requireOpen();
        return new XenNativeMigration();
    }

    /** No fencing device is known to the Xen adapter. */
    @Override
    public Optional<PeerFencer> fencer() {
        return Optional.empty();
    }

    /**
     * Stops the event loop and the supervisor, and releases the libxl context. VMs keep
     * running. Waits up to the close timeout for calls in progress; if one is still inside libxl
     * then, the context is not freed (a leak, never a crash).
     */
    @Override
    public void close() {
        synchronized (stateMonitor) {
            if (state == AdapterState.NEW) {
                transition(AdapterState.CLOSED, "closed before open");
                return;
            }
            if (state != AdapterState.OPEN) {
                return;
            }
            transition(AdapterState.CLOSING, "close requested");
        }
        boolean exclusive = false;
        try {
            exclusive = lifecycle.writeLock().tryLock(settings.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean loopStopped = false;
        try {
            eventLoop.close();
            loopStopped = true;
        } catch (HypervisorException e) {
            LOG.log(Level.ERROR, "{0}", e.getMessage());
        }
        supervisor.shutdown();
        workers.shutdown();
        try {
            supervisor.awaitTermination(5, TimeUnit.SECONDS);
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (exclusive && loopStopped && workers.isTerminated() && supervisor.isTerminated()) {
            memories.values().forEach(handles -> handles.forEach(XenGuestMemory::close));
            for (Watch watch : watches.values()) {
                session.disableDeathEvents(watch.generator);
            }
            watches.clear();
            session.close();
        } else {
            LOG.log(Level.ERROR, "Xen adapter: calls still in progress after {0}; leaving the libxl context"
                    + " allocated rather than freeing it under them", settings.closeTimeout());
        }
        synchronized (stateMonitor) {
            transition(AdapterState.CLOSED, exclusive ? "closed" : "closed, context leaked");
        }
        if (exclusive) {
            lifecycle.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Events.

    /** On the supervisor thread: one libxl domain event. */
    private void onDomainEvent(XenSession.DomainEvent event) {
        try {
            Watch watch = watches.get(event.domid());
            if (watch == null) {
                return;
            }
            if (event.type() == LibxlEvent.TYPE_DOMAIN_SHUTDOWN) {
                int reason = event.shutdownReason();
                if (reason == DomainStates.SHUTDOWN_SUSPEND || watch.expected == Expectation.MIGRATED_AWAY) {
                    return;
                }
                workers.execute(() -> reactToShutdown(watch, reason));
            } else if (event.type() == LibxlEvent.TYPE_DOMAIN_DEATH) {
                watches.remove(event.domid());
                Set<XenGuestMemory> handles = memories.remove(event.domid());
                if (handles != null) {
                    handles.forEach(XenGuestMemory::close);
                }
                dirtyLogging.remove(event.domid());
                try {
                    call(s -> {
                        s.disableDeathEvents(watch.generator);
                        return null;
                    });
                } catch (HypervisorException e) {
                    LOG.log(Level.DEBUG, "disabling death events of domain {0}: {1}", event.domid(), e.getMessage());
                }
                if (!watch.reported && watch.expected != Expectation.MIGRATED_AWAY) {
                    watch.reported = true;
                    if (primaryDomainQuietly(watch.vm).isEmpty()) {
                        outcomes.put(watch.vm, VmState.STOPPED);
                    }
                    deliver(new VmEvent(watch.vm, VmEvent.Kind.DESTROYED, clock.instant(),
                            "domain " + event.domid() + " destroyed"));
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "handling libxl event " + event, e);
        } finally {
            signalChanged();
        }
    }

    /**
     * On a worker thread: what xl does by default when a guest stops by itself. Destroy after a
     * power-off or a crash, rebuild after a reboot.
     */
    private void reactToShutdown(Watch watch, int reason) {
        String vm = watch.vm;
        try {
            withVmLock(vm, () -> {
                if (watch.reported || !watches.containsKey(watch.domid)) {
                    return;
                }
                watch.reported = true;
                String detail = "guest " + DomainStates.shutdownReason(reason) + " (domain " + watch.domid + ")"
                        + destroyAfterShutdown(watch.domid);
                switch (reason) {
                    case DomainStates.SHUTDOWN_POWEROFF -> {
                        outcomes.put(vm, VmState.STOPPED);
                        emit(vm, VmEvent.Kind.SHUT_DOWN, detail);
                    }
                    case DomainStates.SHUTDOWN_REBOOT -> {
                        Optional<VmDefinitions.Definition> definition = definitions.get(vm);
                        if (definition.isEmpty()) {
                            outcomes.put(vm, VmState.STOPPED);
                            emit(vm, VmEvent.Kind.SHUT_DOWN, detail + "; not rebuilt: no longer defined");
                            return;
                        }
                        try {
                            int domid = buildDomain(definition.get());
                            emit(vm, VmEvent.Kind.REBOOTED, detail + "; rebuilt as domain " + domid);
                        } catch (RuntimeException e) {
                            outcomes.put(vm, VmState.CRASHED);
                            emit(vm, VmEvent.Kind.CRASHED, detail + "; rebuilding failed: " + e.getMessage());
                        }
                    }
                    default -> {
                        outcomes.put(vm, VmState.CRASHED);
                        emit(vm, VmEvent.Kind.CRASHED, detail);
                    }
                }
            });
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "reacting to the shutdown of VM " + vm, e);
        } finally {
            signalChanged();
        }
    }

    /** Destroys a domain that shut down; returns "" or what went wrong, for the event's detail. */
    private String destroyAfterShutdown(int domid) {
        try {
            call(s -> {
                s.destroy(domid);
                return null;
            });
            return "";
        } catch (HypervisorException e) {
            LOG.log(Level.WARNING, "destroying domain {0} after its shutdown: {1}", domid, e.getMessage());
            return "; destroying its domain failed: " + e.getMessage();
        }
    }

    private void onDisaster(String message) {
        // May not call libxl from here (libxl_event.h); record it for calls and logs.
        disaster = message;
        LOG.log(Level.ERROR, "{0}", message);
    }

    /** Asks libxl for a domain's shutdown and death events. Idempotent per domain. */
    private void watch(int domid, String vm) {
        if (watches.containsKey(domid)) {
            return;
        }
        Pointer generator = call(s -> s.enableDeathEvents(domid));
        watches.put(domid, new Watch(domid, vm, generator));
    }

    private void emit(String vm, VmEvent.Kind kind, String detail) {
        VmEvent event = new VmEvent(vm, kind, clock.instant(), detail);
        if (Thread.currentThread() == supervisorThread) {
            deliver(event);
        } else {
            supervisor.execute(() -> deliver(event));
        }
    }

    private void deliver(VmEvent event) {
        for (VmEventListener listener : listeners) {
            try {
                listener.onVmEvent(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a VM event listener failed on " + event, e);
            }
        }
    }

    private void signalChanged() {
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    /**
     * Waits until a condition holds, re-checking after every domain event and at least every
     * 250 ms.
     */
    private void awaitCondition(Duration timeout, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new HypervisorException("timed out after " + timeout + " waiting for " + what);
            }
            synchronized (changed) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(changed, Math.min(remaining, RECHECK_NANOS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new HypervisorException("interrupted while waiting for " + what);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Domains of a VM.

    /**
     * Every domain of a VM: its own name, then the two migration names, in that order. One
     * {@code libxl_list_domain} and one name lookup per domain, rather than a name search per
     * candidate name.
     */
    private List<DomainSnapshot> domainsOf(String vm) {
        List<String> names = List.of(vm, vm + DomainStates.INCOMING_SUFFIX, vm + DomainStates.MIGRATED_AWAY_SUFFIX);
        List<DomainSnapshot> found = new ArrayList<>();
        List<DomainSnapshot> all = call(XenSession::listDomains);
        for (String name : names) {
            for (DomainSnapshot domain : all) {
                if (domain.name().equals(name)) {
                    found.add(domain);
                }
            }
        }
        return found;
    }

    /**
     * The domains of a VM that this adapter made, received or re-attached to (those it
     * watches). When both ends of a migration share a host, the other adapter's copy has the
     * same names; it is not this adapter's.
     */
    private List<DomainSnapshot> ownDomainsOf(String vm) {
        List<DomainSnapshot> own = new ArrayList<>();
        for (DomainSnapshot domain : domainsOf(vm)) {
            if (watches.containsKey(domain.domid())) {
                own.add(domain);
            }
        }
        return own;
    }

    /** The domain that stands for the VM: its own name first, then a migration name. */
    private Optional<DomainSnapshot> primaryDomain(String vm) {
        List<DomainSnapshot> domains = ownDomainsOf(vm);
        return domains.isEmpty() ? Optional.empty() : Optional.of(domains.get(0));
    }

    private Optional<DomainSnapshot> ownDomainNamed(String name) {
        return domainNamed(name).filter(d -> watches.containsKey(d.domid()));
    }

    private Optional<DomainSnapshot> primaryDomainQuietly(String vm) {
        try {
            return primaryDomain(vm);
        } catch (HypervisorException e) {
            return Optional.empty();
        }
    }

    private Optional<DomainSnapshot> domainNamed(String name) {
        return call(XenSession::listDomains).stream().filter(d -> d.name().equals(name)).findFirst();
    }

    private DomainSnapshot requireDomain(String vm) {
        return primaryDomain(vm).orElseThrow(() -> new HypervisorException("VM '" + vm + "' has no domain: it is "
                + outcomes.getOrDefault(vm, VmState.STOPPED)));
    }

    private VmDefinitions.Definition requireDefinition(String vm) {
        requireOpen();
        return definitions.get(vm).orElseThrow(() -> new HypervisorException("no VM named '" + vm
                + "' is defined"));
    }

    // ---------------------------------------------------------------------------------------
    // Locks.

    private void requireOpen() {
        if (state != AdapterState.OPEN) {
            throw new HypervisorException("the Xen adapter is " + state + (disaster == null ? "" : "; " + disaster));
        }
    }

    /** Runs one piece of work on the session while holding off {@link #close()}. */
    private <T> T call(Function<XenSession, T> work) {
        lifecycle.readLock().lock();
        try {
            requireOpen();
            return work.apply(session);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void withVmLock(String vm, Runnable work) {
        withVmLock(vm, () -> {
            work.run();
            return null;
        });
    }

    private <T> T withVmLock(String vm, Supplier<T> work) {
        ReentrantLock lock = vmLocks.computeIfAbsent(vm, name -> new ReentrantLock());
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Native migration.

    /**
     * libxl's live migration between two adapters (on two hosts, or on one), carried in the
     * engine's channel by {@link MigrationStream}.
     *
     * <pre>
     *   source                                   target
     *   send: libxl_domain_suspend(LIVE) ------&gt; receive: libxl_domain_create_restore
     *         rename NAME -&gt; NAME--migratedaway           domain NAME--incoming, paused
     *   ... the engine's handshake ...
     *   finishSource(migrated=true): destroy     resume(NAME): rename, unpause
     *   finishSource(migrated=false): rename back, libxl_domain_resume
     * </pre>
     *
     * Only HVM and PVH guests: libxl's live save needs log-dirty, which Debian's Xen provides
     * only with hardware-assisted paging. The channels must be blocking.
     */
    private final class XenNativeMigration implements NativeMigration {

        @Override
        public void send(String vm, WritableByteChannel out) {
            requireDefinition(vm);
            withVmLock(vm, () -> {
                Optional<DomainSnapshot> found = ownDomainNamed(vm);
                if (found.isEmpty()) {
                    throw new HypervisorException("VM '" + vm + "' has no domain to migrate");
                }
                DomainSnapshot domain = found.get();
                VmState current = DomainStates.of(domain);
                if (current != VmState.RUNNING && current != VmState.PAUSED) {
                    throw new HypervisorException("VM '" + vm + "' cannot migrate: it is " + current);
                }
                if (domain.domainType() == DomInfo.TYPE_PV) {
                    throw new HypervisorException("VM '" + vm + "' is a PV guest: live migration needs HVM or PVH on"
                            + " this Xen (no shadow paging)");
                }
                int domid = domain.domid();
                if (dirtyLogging.contains(domid)) {
                    throw new HypervisorException("VM '" + vm + "' logs dirty pages for an engine pre-copy; libxl's"
                            + " live migration would take that log over");
                }
                if (!migrating.add(domid)) {
                    throw new HypervisorException("VM '" + vm + "' is already migrating");
                }
                Watch watch = watches.get(domid);
                if (watch != null) {
                    watch.expected = Expectation.MIGRATED_AWAY;
                }
                try {
                    stream(vm, domid, out);
                    call(s -> {
                        s.rename(domid, vm, vm + DomainStates.MIGRATED_AWAY_SUFFIX);
                        return null;
                    });
                } catch (RuntimeException e) {
                    migrating.remove(domid);
                    if (watch != null) {
                        watch.expected = Expectation.NONE;
                    }
                    resumeIfSuspended(domid, e);
                    if (watch != null) {
                        reactIfItEndedMeanwhile(watch, e);
                    }
                    throw e;
                }
            });
        }

        /** Runs libxl's live save into a pipe, and the pump from the pipe to the channel. */
        private void stream(String vm, int domid, WritableByteChannel out) {
            LibC c = session.libraries().c();
            int[] fds = pipe(c);
            // The pump's end must not block: it stops when libxl is done and the pipe is empty.
            c.fcntl(fds[0], LibC.F_SETFL, c.fcntl(fds[0], LibC.F_GETFL, 0) | LibC.O_NONBLOCK);
            AtomicBoolean libxlDone = new AtomicBoolean();
            Future<Long> pump = workers.submit(() -> MigrationStream.pumpToChannel(c, fds[0], out, libxlDone::get));
            RuntimeException failure = null;
            try {
                call(s -> {
                    s.suspendLive(domid, fds[1]);
                    return null;
                });
            } catch (RuntimeException e) {
                failure = e;
            } finally {
                libxlDone.set(true);
                c.close(fds[1]);
            }
            long bytes = 0;
            try {
                bytes = pump.get();
            } catch (ExecutionException e) {
                HypervisorException broken = new HypervisorException("sending VM '" + vm + "' failed: the channel: "
                        + e.getCause().getMessage(), e.getCause());
                if (failure != null) {
                    broken.addSuppressed(failure);
                }
                failure = broken;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = new HypervisorException("interrupted while sending VM '" + vm + "'");
            }
            try {
                MigrationStream.writeEnd(out, failure == null);
            } catch (IOException e) {
                if (failure == null) {
                    failure = new HypervisorException("sending VM '" + vm + "' failed at the end marker: "
                            + e.getMessage(), e);
                }
            }
            if (failure != null) {
                throw failure;
            }
            LOG.log(Level.INFO, "VM {0}: sent {1} bytes of libxl stream from domain {2}", vm, bytes, domid);
        }

        /**
         * A guest that shut down, rebooted or crashed while it was being saved had its event
         * ignored as part of the migration; with the migration given up, it gets the reaction it
         * would have had (a rebuild after a reboot, for one).
         */
        private void reactIfItEndedMeanwhile(Watch watch, RuntimeException cause) {
            try {
                Optional<DomainSnapshot> now = call(s -> s.domainInfo(watch.domid));
                if (now.isPresent() && now.get().shutdown()
                        && now.get().shutdownReason() != DomainStates.SHUTDOWN_SUSPEND) {
                    int reason = now.get().shutdownReason();
                    workers.execute(() -> reactToShutdown(watch, reason));
                }
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
            }
        }

        private void resumeIfSuspended(int domid, RuntimeException cause) {
            try {
                Optional<DomainSnapshot> now = call(s -> s.domainInfo(domid));
                if (now.isPresent() && now.get().shutdown()
                        && now.get().shutdownReason() == DomainStates.SHUTDOWN_SUSPEND) {
                    call(s -> {
                        s.resumeSuspended(domid);
                        return null;
                    });
                }
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
            }
        }

        @Override
        public VmInfo receive(VmSpec spec, ReadableByteChannel in) {
            String vm = spec.name();
            requireOpen();
            String incomingName = vm + DomainStates.INCOMING_SUFFIX;
            // Under the incoming copy's lock, not the VM's: when both ends share a host (and an
            // adapter), the source's send holds the VM's lock while it streams, and this side
            // must read the stream meanwhile.
            return withVmLock(incomingName, () -> {
                defineLocked(spec, true);
                VmDefinitions.Definition definition = requireDefinition(vm);
                if (domainNamed(incomingName).isPresent()) {
                    throw new HypervisorException("VM '" + vm + "' is already being received");
                }
                List<URI> disks = new ArrayList<>();
                for (VmSpec.Disk disk : spec.disks()) {
                    disks.add(context.attach(disk).nbdUri());
                }
                Map<String, Object> config = DomainConfigJson.build(spec, incomingName, definition.uuid(), disks);
                // libxl is called only once the stream has begun as libxl writes it: its own
                // failure before that point crashes the process (LibxlStreamCheck).
                LibxlStreamCheck check = new LibxlStreamCheck();
                java.nio.ByteBuffer prefix;
                try {
                    prefix = MigrationStream.readPrefix(in, check);
                } catch (IOException e) {
                    throw new HypervisorException("receiving VM '" + vm + "' refused before libxl: "
                            + e.getMessage(), e);
                }
                LibC c = session.libraries().c();
                int[] fds = pipe(c);
                Future<Long> pump = workers.submit(() -> MigrationStream.pumpFromChannel(c, in, fds[1], check,
                        prefix));
                int domid;
                try {
                    domid = call(s -> s.restoreDomain(vm, config, fds[0]));
                } catch (RuntimeException e) {
                    c.close(fds[0]);
                    // Stop the pump: interrupting it closes an interruptible channel.
                    pump.cancel(true);
                    throw e;
                }
                c.close(fds[0]);
                try {
                    pump.get(settings.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException | TimeoutException | InterruptedException e) {
                    pump.cancel(true);
                    HypervisorException failure = new HypervisorException("receiving VM '" + vm
                            + "' failed after libxl restored it: " + e);
                    destroyQuietly(domid, failure);
                    throw failure;
                }
                try {
                    watch(domid, vm);
                } catch (RuntimeException e) {
                    destroyQuietly(domid, e);
                    throw e;
                }
                outcomes.remove(vm);
                DomainSnapshot domain = call(s -> s.domainInfo(domid)).orElseThrow(() ->
                        new HypervisorException("VM '" + vm + "': restored domain " + domid + " vanished"));
                return new VmInfo(vm, VmState.PAUSED, domain.onlineVcpus(), domain.currentKib() * 1024,
                        Integer.toString(domid));
            });
        }

        @Override
        public void finishSource(String vm, boolean migrated) {
            requireDefinition(vm);
            withVmLock(vm, () -> {
                Optional<DomainSnapshot> away = ownDomainNamed(vm + DomainStates.MIGRATED_AWAY_SUFFIX);
                if (away.isEmpty()) {
                    throw new HypervisorException("VM '" + vm + "' has no migrated-away domain to finish");
                }
                int domid = away.get().domid();
                try {
                    if (migrated) {
                        call(s -> {
                            s.destroy(domid);
                            return null;
                        });
                        if (primaryDomain(vm).isEmpty()) {
                            outcomes.put(vm, VmState.STOPPED);
                        }
                        return;
                    }
                    call(s -> {
                        s.rename(domid, vm + DomainStates.MIGRATED_AWAY_SUFFIX, vm);
                        s.resumeSuspended(domid);
                        return null;
                    });
                    Watch watch = watches.get(domid);
                    if (watch != null) {
                        watch.expected = Expectation.NONE;
                    }
                    emit(vm, VmEvent.Kind.RESUMED, "migration abandoned; resumed here (domain " + domid + ")");
                } finally {
                    migrating.remove(domid);
                }
            });
        }

        private int[] pipe(LibC c) {
            int[] fds = new int[2];
            // Close-on-exec on both ends: libxl hands its end to libxl-save-helper itself, and no
            // other child (another migration's helper) may inherit ours, or EOF never comes.
            if (c.pipe2(fds, LibC.O_CLOEXEC) != 0) {
                throw new HypervisorException("pipe2 for a migration stream failed: "
                        + c.strerror(Native.getLastError()));
            }
            return fds;
        }
    }
}
