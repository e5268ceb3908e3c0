package io.avance.testkit.hypervisor;

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
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.api.replication.Volume;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A hypervisor inside this process: Avance's embedded default, on which {@code avance demo} and
 * most tests run VMs. Each VM runs a guest program on a few threads of its own, with real guest
 * memory (off-heap pages with a dirty-page log) and real disks (the volumes the engine's
 * {@link HypervisorContext#attach} resolves).
 *
 * <h2>Guest programs ({@link VmSpec#options()})</h2>
 * <ul>
 *   <li>{@code sim.program=kv} (the default): a key-value service. Its table lives in guest
 *       memory, so a memory-copy migration moves it; every PUT is appended to a log on the VM's
 *       first disk with FUA (durable on both nodes) before it is acknowledged, and a boot replays
 *       the log. It listens on {@code sim.bind:sim.port} (default 127.0.0.1; port 0 or absent: no
 *       listener) for the line protocol {@code PUT k v -> OK seq}, {@code GET k -> VALUE v | NONE},
 *       {@code STATS -> STATS keys=n seq=s boot=b node=id}, errors {@code ERR message}; keys are
 *       1-64 and values 1-184 printable ASCII characters without spaces. Needs a disk of at
 *       least 64 KiB. {@link KvClient} speaks the protocol.</li>
 *   <li>{@code sim.program=idle}: does nothing but what the rates below ask; needs no disk.</li>
 *   <li>{@code sim.dirty-rate} (bytes per second, such as {@code 50MiB}; default 0): a guest
 *       thread dirties random pages of scratch memory at that rate, to exercise migration
 *       convergence.</li>
 *   <li>{@code sim.disk-rate} (bytes per second; default 0): a guest thread writes random 4 KiB
 *       blocks in the scratch area of the first disk (its last quarter; the log has the first
 *       three).</li>
 * </ul>
 * Unknown keys, bad values and impossible combinations are refused by {@link #define} with a
 * {@link HypervisorException} that names the key.
 *
 * <h2>What it can do</h2>
 * {@link Capability#PAUSE PAUSE}, {@link Capability#REBOOT REBOOT},
 * {@link Capability#GUEST_MEMORY_ACCESS GUEST_MEMORY_ACCESS},
 * {@link Capability#DIRTY_PAGE_LOGGING DIRTY_PAGE_LOGGING} and
 * {@link Capability#DEVICE_STATE DEVICE_STATE}: VMs migrate by the engine's own pre-copy. It has
 * no native migration ({@link #nativeMigration()} throws {@link UnsupportedOperationException})
 * and cannot fence ({@link #fencer()} is empty). It reports the VM states DEFINED, STARTING,
 * RUNNING, PAUSED, STOPPING, STOPPED and CRASHED, never the engine's MIGRATING and FAILED (see
 * {@link SimulatedVm} for the transitions and their events).
 *
 * <h2>The network endpoint moves with the device state</h2>
 * {@link #saveDeviceState} unplugs the VM's NIC on this node: it closes the kv listener and its
 * client connections, so that the target (on loopback, the same address and port) can bind them
 * when the migration {@link IncomingVm#activate activates} the VM there. If the migration fails
 * and the VM is {@link #resume resumed} here instead, the NIC is plugged back in. Clients see a
 * dropped connection and reconnect, which {@link KvClient} does by itself.
 *
 * <h2>Testing hooks</h2>
 * {@link #crash}, {@link #crashAfter} (the guest dies abruptly: CRASHED), {@link #stats} and
 * {@link #request} (look at or talk to the guest without TCP), and {@link #powerOff} (the node
 * loses power: every guest dies at once, with no events).
 *
 * <p>Thread-safety: every method may be called from several threads. Operations on one VM are
 * serialised; operations on different VMs run in parallel. Events are delivered on one adapter
 * thread, in order, never on the caller's thread. {@link #close()} leaves VMs running, as the SPI
 * asks, but a simulated VM belongs to this object: a new adapter does not see it, so tests
 * destroy their VMs (or call {@link #powerOff}) when done.
 */
public final class SimulatedHypervisor implements HypervisorAdapter {

    /** The adapter's name. */
    public static final String NAME = "simulated";
    /** System property read by the no-argument constructor: cores for guests. */
    public static final String CORES_PROPERTY = "avance.sim.cores";
    /** System property read by the no-argument constructor: memory for guests (bytes, or {@code 8GiB}). */
    public static final String MEMORY_PROPERTY = "avance.sim.memory";
    /** The option naming the guest program: {@code kv} or {@code idle}. */
    public static final String OPTION_PROGRAM = GuestOptions.PROGRAM;
    /** The option giving the kv service's TCP port (0: none). */
    public static final String OPTION_PORT = GuestOptions.PORT;
    /** The option giving the address the kv service listens on. */
    public static final String OPTION_BIND = GuestOptions.BIND;
    /** The option giving how many bytes of memory per second the guest dirties. */
    public static final String OPTION_DIRTY_RATE = GuestOptions.DIRTY_RATE;
    /** The option giving how many bytes per second the guest writes to its disk's scratch area. */
    public static final String OPTION_DISK_RATE = GuestOptions.DISK_RATE;
    /** {@code sim.fill}: {@code random} fills the scratch memory at boot (see the class comment). */
    public static final String OPTION_FILL = GuestOptions.FILL;

    /** Guest memory is nominal (allocated as guests touch it), so the default is generous. */
    private static final long DEFAULT_MEMORY = 8L << 30;
    private static final Logger LOG = System.getLogger(SimulatedHypervisor.class.getName());
    private static final Set<Capability> CAPABILITIES = Collections.unmodifiableSet(EnumSet.of(Capability.PAUSE,
            Capability.REBOOT, Capability.GUEST_MEMORY_ACCESS, Capability.DIRTY_PAGE_LOGGING, Capability.DEVICE_STATE));

    private final HostResources resources;
    private final Map<String, SimulatedVm> vms = new ConcurrentHashMap<>();
    private final Map<String, Long> reserved = new HashMap<>();
    private final AtomicLong incarnations = new AtomicLong();
    private final EventDispatcher events = new EventDispatcher("sim-hypervisor-events");
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "sim-hypervisor-faults");
        thread.setDaemon(true);
        return thread;
    });
    private final Host host = new Host();
    private volatile HypervisorContext context;
    private volatile boolean closed;

    /**
     * Creates the adapter with what {@link #hostResources()} reports; the total memory of the
     * VMs running at once may not exceed it.
     *
     * @param resources cores and memory for guests
     */
    public SimulatedHypervisor(HostResources resources) {
        this.resources = Objects.requireNonNull(resources, "resources");
    }

    /**
     * Creates the adapter for {@link java.util.ServiceLoader}, with resources from the system
     * properties {@value #CORES_PROPERTY} (default: this machine's processors) and
     * {@value #MEMORY_PROPERTY} (default 8 GiB; guest memory is allocated only as guests touch it,
     * bounded in practice by {@code -XX:MaxDirectMemorySize}).
     *
     * @throws IllegalArgumentException if a property is not a number or size
     */
    public SimulatedHypervisor() {
        this(fromProperties());
    }

    private static HostResources fromProperties() {
        String cores = System.getProperty(CORES_PROPERTY);
        String memory = System.getProperty(MEMORY_PROPERTY);
        int coreCount;
        try {
            coreCount = cores == null ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(cores.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(CORES_PROPERTY + "=" + cores + " is not a number of cores");
        }
        long memoryBytes;
        try {
            memoryBytes = memory == null ? DEFAULT_MEMORY : GuestOptions.parseBytes(memory);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(MEMORY_PROPERTY + "=" + memory + ": " + e.getMessage());
        }
        return new HostResources(coreCount, memoryBytes);
    }

    /**
     * A spec for a kv guest: the usual VM of tests and the demo.
     *
     * @param name        the VM's name
     * @param memoryBytes its memory, a multiple of 1 MiB
     * @param disk        the disk its log lives on
     * @param service     the address its service listens on, on whichever node runs it (tests give
     *                    each guest a loopback address of its own)
     * @param options     more options ({@code sim.dirty-rate}, ...), may be empty
     * @return the spec
     */
    public static VmSpec kvSpec(String name, long memoryBytes, VmSpec.Disk disk, InetSocketAddress service,
                                Map<String, String> options) {
        Map<String, String> all = new TreeMap<>(options);
        all.put(OPTION_PROGRAM, "kv");
        all.put(OPTION_BIND, service.getAddress().getHostAddress());
        all.put(OPTION_PORT, Integer.toString(service.getPort()));
        return new VmSpec(name, 1, memoryBytes, List.of(disk), List.of(), all);
    }

    /**
     * A spec for a kv guest with no service to connect to (it still logs its writes to its disk).
     *
     * @param name        the VM's name
     * @param memoryBytes its memory, a multiple of 1 MiB
     * @param disk        the disk its log lives on
     * @param options     more options, may be empty
     * @return the spec
     */
    public static VmSpec kvSpec(String name, long memoryBytes, VmSpec.Disk disk, Map<String, String> options) {
        Map<String, String> all = new TreeMap<>(options);
        all.put(OPTION_PROGRAM, "kv");
        all.put(OPTION_PORT, "0");
        return new VmSpec(name, 1, memoryBytes, List.of(disk), List.of(), all);
    }

    /**
     * Where a kv guest's service listens.
     *
     * @param spec a spec made by {@link #kvSpec(String, long, VmSpec.Disk, InetSocketAddress, Map)}
     * @return its address
     */
    public static InetSocketAddress service(VmSpec spec) {
        return new InetSocketAddress(spec.options().getOrDefault(OPTION_BIND, "127.0.0.1"),
                Integer.parseInt(spec.options().getOrDefault(OPTION_PORT, "0")));
    }

    // ------------------------------------------------------------------------------------------
    // HypervisorAdapter

    @Override
    public String name() {
        return NAME;
    }

    /** Always available: the simulated hypervisor needs nothing from the machine. */
    @Override
    public Availability probe() {
        return Availability.yes();
    }

    /**
     * Keeps the context: its node names the guests' node in STATS, its attach resolves their
     * disks when they start.
     *
     * @throws HypervisorException if already open or closed
     */
    @Override
    public synchronized void open(HypervisorContext context) {
        if (closed) {
            throw new HypervisorException("the simulated hypervisor is closed");
        }
        if (this.context != null) {
            throw new HypervisorException("the simulated hypervisor is open already (node " + this.context.node()
                    + ")");
        }
        this.context = Objects.requireNonNull(context, "context");
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public HostResources hostResources() {
        return resources;
    }

    /** @return every VM defined here, ordered by name */
    @Override
    public List<VmInfo> list() {
        requireOpen();
        List<VmInfo> list = new ArrayList<>();
        for (SimulatedVm vm : new TreeMap<>(vms).values()) {
            list.add(vm.info());
        }
        return list;
    }

    @Override
    public Optional<VmInfo> info(String vm) {
        requireOpen();
        return Optional.ofNullable(vms.get(vm)).map(SimulatedVm::info);
    }

    /**
     * Checks the spec's options (see the class comment) and records it.
     *
     * @throws HypervisorException for an unknown option key, a bad value, a kv guest without a
     *                             disk, or another spec under this name
     */
    @Override
    public synchronized void define(VmSpec spec) {
        requireOpen();
        Objects.requireNonNull(spec, "spec");
        GuestOptions options = GuestOptions.of(spec);
        SimulatedVm existing = vms.get(spec.name());
        if (existing != null) {
            if (!existing.spec().equals(spec)) {
                throw new HypervisorException("VM " + spec.name() + " is defined with another spec: " + existing.spec()
                        + "; undefine it first to define " + spec);
            }
            // The same spec: nothing to do, but a definition that only existed for an incoming
            // migration becomes the engine's own.
            existing.adopt();
            return;
        }
        vms.put(spec.name(), new SimulatedVm(host, spec, options, false));
    }

    /** @throws HypervisorException if the VM is unknown or still active */
    @Override
    public synchronized void undefine(String vm) {
        SimulatedVm known = vm(vm);
        known.checkUndefinable();
        vms.remove(vm, known);
    }

    /**
     * Boots the guest (a kv guest replays its disk log) and returns when it runs and listens.
     *
     * @throws HypervisorException if the VM is unknown or not DEFINED, STOPPED or CRASHED, its
     *                             memory does not fit, its disk cannot be attached, or the boot
     *                             fails (the VM is then CRASHED)
     */
    @Override
    public void start(String vm) {
        vm(vm).start();
    }

    /**
     * Stops the guest cleanly: requests in progress finish, the disk is flushed.
     *
     * @throws HypervisorException if the VM is unknown or not RUNNING (a paused guest cannot shut
     *                             itself down: resume or destroy it)
     */
    @Override
    public void shutdown(String vm) {
        vm(vm).shutdown();
    }

    /**
     * Stops the guest at once. Destroying a stopped or defined VM does nothing; destroying a
     * crashed one makes it STOPPED. Returns once the writes the guest had issued have landed.
     *
     * @throws HypervisorException if the VM is unknown
     */
    @Override
    public void destroy(String vm) {
        vm(vm).destroy();
    }

    /**
     * Restarts the guest in place: its memory is cleared and a kv guest replays its log. Events:
     * REBOOTED, then STARTED.
     *
     * @throws HypervisorException if the VM is unknown or not RUNNING
     */
    @Override
    public void reboot(String vm) {
        vm(vm).reboot();
    }

    /**
     * Pauses the guest: returns when no guest thread touches memory or disk. Requests arriving
     * while it is paused wait, as packets to a paused VM would. Pausing a paused VM does nothing.
     *
     * @throws HypervisorException if the VM is unknown or not RUNNING, or work in progress did
     *                             not finish within 10 s (it then keeps running)
     */
    @Override
    public void pause(String vm) {
        vm(vm).pause();
    }

    /**
     * Resumes the guest, plugging its NIC back in if its device state was saved (a failed
     * migration). Resuming a running VM does nothing.
     *
     * @throws HypervisorException if the VM is unknown, not PAUSED, or an incoming migration
     */
    @Override
    public void resume(String vm) {
        vm(vm).resume();
    }

    @Override
    public AutoCloseable addListener(VmEventListener listener) {
        return events.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * The guest's memory. The handle stays valid across a reboot (the memory is cleared in place
     * and every page counts as dirty); once the VM stops, reads and dirty-page fetches fail with
     * {@link io.avance.api.migration.MigrationException}.
     *
     * @throws HypervisorException if the VM is unknown or not RUNNING or PAUSED
     */
    @Override
    public GuestMemory guestMemory(String vm) {
        return vm(vm).memory();
    }

    /**
     * Saves the paused guest's device state (log position, sequence number, boot id, generator
     * states) and unplugs its NIC, see the class comment.
     *
     * @throws HypervisorException if the VM is unknown or not PAUSED
     */
    @Override
    public byte[] saveDeviceState(String vm) {
        return vm(vm).saveDeviceState();
    }

    /**
     * Creates the VM paused with zeroed memory, to be filled by the migrator. If the VM is not
     * defined here, it is defined by this call, and forgotten again if the migration is aborted
     * or fails. {@link IncomingVm#activate} binds the VM's network endpoint.
     *
     * @throws HypervisorException if the spec is refused, another spec has this name, the VM is
     *                             active here, or its memory does not fit
     */
    @Override
    public IncomingVm prepareIncoming(VmSpec spec) {
        requireOpen();
        GuestOptions options = GuestOptions.of(spec);
        SimulatedVm target;
        synchronized (this) {
            target = vms.get(spec.name());
            if (target != null && !target.spec().equals(spec)) {
                throw new HypervisorException("VM " + spec.name() + " is defined here with another spec: "
                        + target.spec());
            }
            if (target == null) {
                target = new SimulatedVm(host, spec, options, true);
                vms.put(spec.name(), target);
            }
        }
        try {
            return target.prepareIncoming();
        } catch (RuntimeException e) {
            if (target.definedByIncoming()) {
                host.forget(target);
            }
            throw e;
        }
    }

    /** @throws UnsupportedOperationException always: the simulated hypervisor migrates by pre-copy */
    @Override
    public NativeMigration nativeMigration() {
        throw new UnsupportedOperationException("the simulated hypervisor has no native migration stream; "
                + "migrate through guestMemory, saveDeviceState and prepareIncoming");
    }

    /** @return empty: a simulated node cannot power its peer off */
    @Override
    public Optional<PeerFencer> fencer() {
        return Optional.empty();
    }

    /** Stops delivering events and refuses further calls; VMs keep running (see the class comment). */
    @Override
    public void close() {
        closed = true;
        events.close();
        timers.shutdownNow();
    }

    // ------------------------------------------------------------------------------------------
    // Testing hooks

    /**
     * Crashes the guest: its threads stop where they are, its listener and connections close,
     * nothing is flushed. The VM becomes CRASHED and listeners get a CRASHED event.
     *
     * @param vm     the VM
     * @param reason the event's detail
     * @throws HypervisorException if the VM is unknown or not RUNNING or PAUSED
     */
    public void crash(String vm, String reason) {
        vm(vm).crash(Objects.requireNonNull(reason, "reason"));
    }

    /**
     * Crashes the guest after a delay, from an adapter thread; nothing happens if it is no longer
     * running then.
     *
     * @param vm    the VM
     * @param delay how long from now
     * @throws HypervisorException if the VM is unknown
     */
    public void crashAfter(String vm, Duration delay) {
        SimulatedVm target = vm(vm);
        timers.schedule(() -> {
            try {
                target.crash("crash injected after " + delay.toMillis() + " ms");
            } catch (HypervisorException e) {
                LOG.log(Level.INFO, "{0}: scheduled crash not injected: {1}", vm, e.getMessage());
            }
        }, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * What the guest reports about itself, read directly.
     *
     * @param vm the VM
     * @return its statistics
     * @throws HypervisorException if the VM is unknown or its guest is not running (or paused)
     */
    public GuestStats stats(String vm) {
        return vm(vm).stats();
    }

    /**
     * Hands one request line to the kv guest as its NIC would, without TCP. Like a packet, it
     * waits while the VM is paused.
     *
     * @param vm   the VM
     * @param line a request, such as {@code GET k}
     * @return the guest's reply line
     * @throws HypervisorException if the VM is unknown or its guest is not running, or it stopped
     *                             before answering
     */
    public String request(String vm, String line) {
        return vm(vm).request(line);
    }

    /**
     * The last state transitions of a VM, oldest first, for diagnostics in failed tests.
     *
     * @param vm the VM
     * @return lines such as {@code RUNNING -> PAUSED: pause requested}
     */
    public List<String> history(String vm) {
        return vm(vm).history();
    }

    /**
     * The node loses power: every guest dies at once (no flush, no events) and the adapter
     * closes. Writes the guests had issued still land, as on a real disk controller's cache with
     * a battery.
     */
    public void powerOff() {
        closed = true;
        events.close();
        timers.shutdownNow();
        for (SimulatedVm vm : vms.values()) {
            vm.powerOff();
        }
        vms.clear();
        synchronized (reserved) {
            reserved.clear();
        }
    }

    // ------------------------------------------------------------------------------------------

    private void requireOpen() {
        if (closed) {
            throw new HypervisorException("the simulated hypervisor is closed");
        }
        if (context == null) {
            throw new HypervisorException("the simulated hypervisor is not open: call open(context) first");
        }
    }

    private SimulatedVm vm(String name) {
        requireOpen();
        SimulatedVm vm = vms.get(Objects.requireNonNull(name, "vm"));
        if (vm == null) {
            throw new HypervisorException("no VM named " + name + " is defined on the simulated hypervisor of node "
                    + context.node());
        }
        return vm;
    }

    /** What the VMs get from their hypervisor. */
    private final class Host implements SimulatedVm.Host {
        @Override
        public String node() {
            HypervisorContext current = context;
            return current == null ? "unknown" : current.node().value();
        }

        @Override
        public Volume attach(VmSpec.Disk disk) {
            return context.attach(disk).volume();
        }

        @Override
        public void reserve(String vm, long bytes) {
            synchronized (reserved) {
                long used = 0;
                for (Map.Entry<String, Long> entry : reserved.entrySet()) {
                    if (!entry.getKey().equals(vm)) {
                        used += entry.getValue();
                    }
                }
                if (used + bytes > resources.memoryBytes()) {
                    throw new HypervisorException("not enough memory on node " + node() + " for VM " + vm + ": it needs "
                            + (bytes >> 20) + " MiB, " + ((resources.memoryBytes() - used) >> 20) + " MiB of "
                            + (resources.memoryBytes() >> 20) + " MiB are free");
                }
                reserved.put(vm, bytes);
            }
        }

        @Override
        public void unreserve(String vm) {
            synchronized (reserved) {
                reserved.remove(vm);
            }
        }

        @Override
        public void publish(VmEvent event) {
            events.publish(event);
        }

        @Override
        public void guestFault(String vm, Throwable cause) {
            LOG.log(Level.WARNING, "guest of VM " + vm + " failed; crashing the VM", cause);
            try {
                timers.execute(() -> {
                    SimulatedVm target = vms.get(vm);
                    if (target == null) {
                        return;
                    }
                    try {
                        target.crash("the guest failed: " + cause);
                    } catch (HypervisorException e) {
                        // It stopped in the meantime.
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // The adapter is closed or powered off.
            }
        }

        @Override
        public void forget(SimulatedVm vm) {
            // Under the adapter's lock, like define: a define of the same spec that adopted the VM
            // meanwhile keeps it.
            synchronized (SimulatedHypervisor.this) {
                if (vm.definedByIncoming()) {
                    vms.remove(vm.name(), vm);
                }
            }
        }

        @Override
        public String nextHypervisorId() {
            return "sim-" + incarnations.incrementAndGet();
        }

        @Override
        public Instant now() {
            return Instant.now();
        }
    }
}
