package io.avance.core.vm;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.api.event.VmStateChanged;
import io.avance.api.failover.VmStatus;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.MigrationProgress;
import io.avance.api.vm.ManagedVm;
import io.avance.api.vm.VmException;
import io.avance.api.vm.VmManager;
import io.avance.core.wire.Message;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * Runs the pair's VMs on this node while it is primary.
 *
 * <ul>
 *   <li>As primary, it defines, starts and stops VMs as asked ({@link VmManager}), within
 *       admission control, and keeps the catalog on the backup up to date.</li>
 *   <li>When this node becomes primary, it starts every wanted VM that does not run here: after a
 *       takeover, from its replicated disks (rule 7). VMs arriving by live migration are activated
 *       by the migration instead.</li>
 *   <li>When this node stops being primary, it destroys its VMs at once (a node that may not serve
 *       must not run them), except those migrating away, whose migration ends them.</li>
 *   <li>A VM that crashes is reported to the failover policy ({@link #vms()}), which decides when to
 *       restart it ({@link #restartCrashed}); past the restart limit within the window it is
 *       {@link VmState#FAILED} and left for an operator (rule 3).</li>
 * </ul>
 *
 * <h2>A VM's life on this node</h2>
 * <pre>
 *   DEFINED/STOPPED --start--&gt; STARTING --&gt; RUNNING --shutdown--&gt; STOPPING --&gt; STOPPED
 *                                 |            |  |  '--pause--&gt; PAUSED --resume--&gt; RUNNING
 *                      start fails|      crash |  '--migrate away--&gt; MIGRATING --&gt; STOPPED (runs there)
 *                                 v            v                            '--failed--&gt; RUNNING
 *                               CRASHED --policy restart--&gt; STARTING
 *                                 '--restart limit--&gt; FAILED --operator restart--&gt; STARTING
 *   MIGRATING (incoming) --activated--&gt; RUNNING
 * </pre>
 *
 * <p>Every change runs on the supervisor's own thread, in order, and goes through
 * {@link #transition}: it is checked against the table, logged, counted, published as a
 * {@link VmStateChanged} event and, for automatic actions, journalled. Hypervisor calls run on that
 * thread too. The public methods are thread-safe and block until done.
 */
public final class VmSupervisor implements VmManager, AutoCloseable {

    private static final Logger LOG = System.getLogger(VmSupervisor.class.getName());
    /** How long a caller waits for an operation (a start includes the guest's boot). */
    private static final long OPERATION_TIMEOUT_SECONDS = 120;

    private static final Map<VmState, Set<VmState>> LEGAL = new EnumMap<>(VmState.class);

    static {
        LEGAL.put(VmState.DEFINED, EnumSet.of(VmState.STARTING, VmState.MIGRATING));
        LEGAL.put(VmState.STARTING, EnumSet.of(VmState.RUNNING, VmState.CRASHED, VmState.STOPPED));
        LEGAL.put(VmState.RUNNING, EnumSet.of(VmState.PAUSED, VmState.STOPPING, VmState.CRASHED, VmState.MIGRATING,
                VmState.STOPPED));
        LEGAL.put(VmState.PAUSED, EnumSet.of(VmState.RUNNING, VmState.STOPPING, VmState.CRASHED, VmState.MIGRATING,
                VmState.STOPPED));
        LEGAL.put(VmState.STOPPING, EnumSet.of(VmState.STOPPED, VmState.CRASHED));
        LEGAL.put(VmState.STOPPED, EnumSet.of(VmState.STARTING, VmState.MIGRATING));
        LEGAL.put(VmState.CRASHED, EnumSet.of(VmState.STARTING, VmState.FAILED, VmState.STOPPED));
        LEGAL.put(VmState.FAILED, EnumSet.of(VmState.STARTING, VmState.STOPPED));
        LEGAL.put(VmState.MIGRATING, EnumSet.of(VmState.RUNNING, VmState.PAUSED, VmState.STOPPED, VmState.CRASHED));
    }

    /** What the supervisor needs from its node. */
    public interface Node {
        /** @return this node */
        NodeId id();

        /** @return the peer, if this node has one */
        Optional<NodeId> peer();

        /** @return whether this node is primary now (its live role) */
        boolean primary();

        /** @return whether this node may serve now (primary, lease held) */
        boolean mayServe();

        /** @return the owner clock's reading */
        long nanoTime();

        /** @param event for listeners */
        void publish(PairEvent event);

        /** @param action what @param detail to what @param outcome how it went */
        void audit(String action, String detail, String outcome);

        /** @param message a control message for the peer @return false if there is no session */
        boolean sendToPeer(Message message);

        /**
         * Makes sure a VM's disk exists as a replicated volume (creating it on the primary if not).
         *
         * @param disk the disk
         * @throws RuntimeException naming the disk if it cannot be made
         */
        void ensureVolume(VmSpec.Disk disk);
    }

    /**
     * The supervisor's settings.
     *
     * @param restartLimit       the most automatic restarts of one VM within the window
     * @param restartWindowNanos how far back restarts count
     * @param configured         VMs the node's configuration defines: put in the catalog when this
     *                           node becomes primary, if missing or different
     */
    public record Settings(int restartLimit, long restartWindowNanos, List<VmCatalog.Entry> configured) {
        /**
         * Copies the list.
         */
        public Settings {
            configured = List.copyOf(configured);
        }
    }

    /** What the supervisor knows of one VM on this node. */
    private static final class Runtime {
        VmState state = VmState.DEFINED;
        final Deque<Long> restarts = new ArrayDeque<>();
        long lastRestartNanos = Long.MIN_VALUE;
        String detail = "defined";
        boolean stopping;
        boolean evacuating;
        /** When the latest start began: events the hypervisor stamped earlier are about an older run. */
        java.time.Instant startedAt = java.time.Instant.MIN;
        MigrationProgress migration;
    }

    private final Node node;
    private final HypervisorAdapter adapter;
    private final VmCatalog catalog;
    private final Settings settings;
    private final Clock wallClock;
    private final ExecutorService owner;
    private final Map<String, Runtime> runtimes = new LinkedHashMap<>();
    /** The volumes of each VM arriving by live migration (any thread reads it). */
    private final Map<String, Set<String>> arriving = new ConcurrentHashMap<>();
    private final Counter crashes;
    private final Counter restartsCounter;
    private final Counter refusals;
    private volatile List<VmStatus> statuses = List.of();
    private volatile List<ManagedVm> views = List.of();
    private volatile Optional<HostResources> peerResources = Optional.empty();
    private volatile boolean closed;
    private AutoCloseable subscription;

    /**
     * Creates the supervisor; it acts once {@link #start()} is called.
     *
     * @param node      the node
     * @param adapter   the hypervisor, opened
     * @param catalog   the VM catalog
     * @param settings  restart limits
     * @param wallClock for event times
     * @param meters    for metrics ({@code avance.vm.*})
     */
    public VmSupervisor(Node node, HypervisorAdapter adapter, VmCatalog catalog, Settings settings, Clock wallClock,
                        MeterRegistry meters) {
        this.node = node;
        this.adapter = adapter;
        this.catalog = catalog;
        this.settings = settings;
        this.wallClock = wallClock;
        this.owner = Executors.newSingleThreadExecutor(new DefaultThreadFactory("avance-vms-" + node.id(), true));
        String id = node.id().value();
        this.crashes = Counter.builder("avance.vm.crashes").description("VM crashes seen").tag("node", id)
                .register(meters);
        this.restartsCounter = Counter.builder("avance.vm.restarts").description("VMs restarted after a crash")
                .tag("node", id).register(meters);
        this.refusals = Counter.builder("avance.vm.admission.refusals")
                .description("VM starts refused by admission control").tag("node", id).register(meters);
        for (VmState state : VmState.values()) {
            Gauge.builder("avance.vms", this, s -> s.count(state)).description("VMs on this node by state")
                    .tag("node", id).tag("state", state.name().toLowerCase(java.util.Locale.ROOT)).register(meters);
        }
    }

    /**
     * Listens to the hypervisor and learns the VMs of the catalog.
     */
    public void start() {
        call(() -> {
            for (VmCatalog.Entry entry : catalog.entries()) {
                Runtime runtime = new Runtime();
                // A hypervisor that outlives this process (Xen) may still run the VM: take it as it is;
                // if this node does not become primary, it is destroyed with the others.
                try {
                    adapter.info(entry.spec().name()).map(VmInfo::state)
                            .filter(state -> state == VmState.RUNNING || state == VmState.PAUSED)
                            .ifPresent(state -> {
                                runtime.state = state;
                                runtime.detail = "found " + state + " in the hypervisor at start";
                            });
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "{0}: cannot ask the hypervisor about VM {1}: {2}", node.id(),
                            entry.spec().name(), e.getMessage());
                }
                runtimes.put(entry.spec().name(), runtime);
            }
            subscription = adapter.addListener(event -> {
                try {
                    owner.execute(() -> onVmEvent(event));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // Closing: the supervisor no longer acts on events.
                }
            });
            refreshViews();
            return null;
        });
    }

    /** @return the hypervisor this supervisor drives */
    public HypervisorAdapter adapter() {
        return adapter;
    }

    /** @return the catalog */
    public VmCatalog catalog() {
        return catalog;
    }

    private double count(VmState state) {
        double count = 0;
        for (ManagedVm vm : views) {
            if (vm.state() == state) {
                count++;
            }
        }
        return count;
    }

    // ------------------------------------------------------------------------------------------
    // VmManager

    @Override
    public ManagedVm define(VmSpec spec, boolean start) {
        return call(() -> {
            requirePrimary("define VM '" + spec.name() + "'");
            Optional<VmCatalog.Entry> existing = catalog.get(spec.name());
            if (existing.isPresent() && !existing.get().spec().equals(spec)) {
                throw new VmException(VmException.Reason.INVALID, "a different VM named '" + spec.name()
                        + "' is defined: " + VmSpecCodec.encode(existing.get().spec()).replace('\n', ' '));
            }
            if (existing.isPresent() && (existing.get().wanted() || !start)) {
                // Defined already, as asked: nothing to persist or replicate again.
                return view(spec.name());
            }
            for (VmSpec.Disk disk : spec.disks()) {
                try {
                    node.ensureVolume(disk);
                } catch (RuntimeException e) {
                    throw new VmException(VmException.Reason.INVALID, "VM '" + spec.name() + "': disk "
                            + disk.volume() + ": " + e.getMessage(), e);
                }
            }
            try {
                adapter.define(spec);
            } catch (HypervisorException e) {
                throw new VmException(VmException.Reason.HYPERVISOR, "VM '" + spec.name() + "': the hypervisor "
                        + "refused it: " + e.getMessage(), e);
            }
            if (start) {
                admit(spec);
            }
            runtimes.computeIfAbsent(spec.name(), name -> new Runtime());
            boolean wanted = start || existing.map(VmCatalog.Entry::wanted).orElse(false);
            catalog.put(new VmCatalog.Entry(spec, wanted));
            node.audit("vm-define", spec.name() + (start ? ", to run" : ""), "defined");
            sendCatalog();
            if (start) {
                startHere(spec.name(), "defined to run");
            }
            refreshViews();
            return view(spec.name());
        });
    }

    /**
     * Refuses a VM that admission control would refuse to start now, without defining it.
     *
     * @param spec the VM
     * @throws VmException if this node is not primary, or with the numbers admission refused
     */
    public void checkAdmission(VmSpec spec) {
        call(() -> {
            requirePrimary("create VM '" + spec.name() + "'");
            admit(spec);
            return null;
        });
    }

    @Override
    public void undefine(String name) {
        call(() -> {
            requirePrimary("undefine VM '" + name + "'");
            Runtime runtime = runtime(name);
            if (runtime.state.active()) {
                throw new VmException(VmException.Reason.WRONG_STATE, "VM '" + name + "' is " + runtime.state
                        + "; stop it first");
            }
            try {
                adapter.undefine(name);
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "undefine " + name, e);
            }
            catalog.remove(name);
            runtimes.remove(name);
            node.audit("vm-undefine", name, "done");
            sendCatalog();
            refreshViews();
            return null;
        });
    }

    @Override
    public ManagedVm start(String name) {
        return call(() -> {
            requirePrimary("start VM '" + name + "'");
            VmCatalog.Entry entry = entry(name);
            Runtime runtime = runtime(name);
            if (runtime.state.active()) {
                return view(name);
            }
            admit(entry.spec());
            if (!entry.wanted()) {
                catalog.put(new VmCatalog.Entry(entry.spec(), true));
                sendCatalog();
            }
            startHere(name, "started by request");
            refreshViews();
            return view(name);
        });
    }

    @Override
    public ManagedVm stop(String name) {
        return call(() -> {
            requirePrimary("stop VM '" + name + "'");
            VmCatalog.Entry entry = entry(name);
            if (entry.wanted()) {
                catalog.put(new VmCatalog.Entry(entry.spec(), false));
                sendCatalog();
            }
            Runtime runtime = runtime(name);
            if (runtime.state == VmState.RUNNING || runtime.state == VmState.PAUSED) {
                runtime.stopping = true;
                transition(name, VmState.STOPPING, "shutting down by request");
                try {
                    adapter.shutdown(name);
                    transition(name, VmState.STOPPED, "shut down by request");
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "VM {0}: clean shutdown failed ({1}); destroying it", name, e.getMessage());
                    destroyQuietly(name);
                    transition(name, VmState.STOPPED, "destroyed after a failed shutdown: " + e.getMessage());
                } finally {
                    runtime.stopping = false;
                }
            } else if (runtime.state == VmState.CRASHED || runtime.state == VmState.FAILED) {
                destroyQuietly(name);
                transition(name, VmState.STOPPED, "stopped by request");
            }
            refreshViews();
            return view(name);
        });
    }

    @Override
    public ManagedVm restart(String name) {
        return call(() -> {
            requirePrimary("restart VM '" + name + "'");
            VmCatalog.Entry entry = entry(name);
            Runtime runtime = runtime(name);
            if (!entry.wanted()) {
                admit(entry.spec());
                catalog.put(new VmCatalog.Entry(entry.spec(), true));
                sendCatalog();
            }
            if (runtime.state.active()) {
                runtime.stopping = true;
                destroyQuietly(name);
                runtime.stopping = false;
                transition(name, VmState.STOPPED, "destroyed for a restart by request");
            }
            // An operator's restart forgets the crash history: the limit applies to automatic restarts.
            runtime.restarts.clear();
            node.audit("vm-restart", name, "requested by an operator");
            startHere(name, "restarted by request");
            refreshViews();
            return view(name);
        });
    }

    @Override
    public List<ManagedVm> list() {
        return views;
    }

    @Override
    public Optional<ManagedVm> get(String name) {
        for (ManagedVm vm : views) {
            if (vm.name().equals(name)) {
                return Optional.of(vm);
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------
    // The node's events

    /**
     * This node's role changed.
     *
     * @param primaryNow whether it is primary now
     */
    public void onRoleChanged(boolean primaryNow) {
        owner.execute(() -> {
            if (primaryNow) {
                ensureConfigured();
                startWanted("this node became primary");
            } else {
                stopAll("this node is no longer primary");
            }
            refreshViews();
        });
    }

    /**
     * A catalog message from the peer: a primary's catalog is adopted; either side's host
     * resources are kept for admission control.
     *
     * @param catalogMessage the message
     */
    public void onPeerCatalog(Message.VmCatalog catalogMessage) {
        owner.execute(() -> {
            peerResources = Optional.of(new HostResources(catalogMessage.hostCores(), catalogMessage.hostMemoryBytes()));
            if (!catalogMessage.fromPrimary() || node.primary()) {
                return;
            }
            List<VmCatalog.Entry> entries = new ArrayList<>();
            for (Message.CatalogEntry entry : catalogMessage.entries()) {
                try {
                    entries.add(new VmCatalog.Entry(VmSpecCodec.decode(entry.spec()), entry.wanted()));
                } catch (IllegalArgumentException e) {
                    LOG.log(Level.WARNING, "{0}: the primary sent a VM definition this node cannot read: {1}", node.id(),
                            e.getMessage());
                    return;
                }
            }
            if (catalog.adopt(catalogMessage.version(), entries)) {
                runtimes.keySet().retainAll(entries.stream().map(e -> e.spec().name()).toList());
                for (VmCatalog.Entry entry : entries) {
                    runtimes.computeIfAbsent(entry.spec().name(), name -> new Runtime());
                    try {
                        adapter.define(entry.spec());
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "{0}: cannot define VM {1} from the primary''s catalog: {2}", node.id(),
                                entry.spec().name(), e.getMessage());
                    }
                }
                LOG.log(Level.INFO, "{0}: adopted the primary''s VM catalog, version {1} ({2} VMs)", node.id(),
                        catalogMessage.version(), entries.size());
            }
            refreshViews();
        });
    }

    /** The private link to the peer is up: tell it the catalog (as primary) and this node's resources. */
    public void onPeerSessionUp() {
        owner.execute(this::sendCatalog);
    }

    /**
     * The failover policy decided to restart a crashed VM.
     *
     * @param name the VM
     */
    public void restartCrashed(String name) {
        owner.execute(() -> {
            Runtime runtime = runtimes.get(name);
            if (runtime == null || runtime.state != VmState.CRASHED || !node.primary()) {
                return;
            }
            long now = node.nanoTime();
            runtime.restarts.addLast(now);
            runtime.lastRestartNanos = now;
            restartsCounter.increment();
            destroyQuietly(name);
            node.audit("vm-restart", name + ": restart " + runtime.restarts.size() + " of at most "
                    + settings.restartLimit(), "restarting");
            startHere(name, "restarted after a crash (" + runtime.restarts.size() + " of at most "
                    + settings.restartLimit() + ")");
            refreshViews();
        });
    }

    /**
     * The VMs as the failover policy sees them.
     *
     * @return one status per VM on this node
     */
    public List<VmStatus> vms() {
        return statuses;
    }

    // ------------------------------------------------------------------------------------------
    // Migration hooks (called by the migration engine, on any thread)

    /**
     * Marks a VM as migrating away or back (its runtime must not be stopped by a role change).
     *
     * @param name       the VM
     * @param evacuating true while its migration owns it
     */
    public void setEvacuating(String name, boolean evacuating) {
        owner.execute(() -> {
            Runtime runtime = runtimes.get(name);
            if (runtime == null) {
                return;
            }
            runtime.evacuating = evacuating;
            if (evacuating && (runtime.state == VmState.RUNNING || runtime.state == VmState.PAUSED)) {
                transition(name, VmState.MIGRATING, "migrating to the peer");
            }
            refreshViews();
        });
    }

    /**
     * A migration away ended.
     *
     * @param name  the VM
     * @param moved true if it runs on the peer now (it is gone from here); false if it runs here again
     * @param why   for the log and the event
     */
    public void migratedAway(String name, boolean moved, String why) {
        owner.execute(() -> {
            Runtime runtime = runtimes.get(name);
            if (runtime == null) {
                return;
            }
            runtime.evacuating = false;
            runtime.migration = null;
            if (runtime.state == VmState.MIGRATING) {
                transition(name, moved ? VmState.STOPPED : VmState.RUNNING, why);
            }
            refreshViews();
        });
    }

    /**
     * A migration's progress, shown with the VM.
     *
     * @param progress where it stands
     */
    public void migrationProgress(MigrationProgress progress) {
        owner.execute(() -> {
            Runtime runtime = runtimes.get(progress.vm());
            if (runtime != null) {
                runtime.migration = progress.phase().terminal() ? null : progress;
                refreshViews();
            }
        });
    }

    /**
     * An incoming migration: the VM exists paused here, filled from the peer.
     *
     * @param spec the VM
     */
    public void incoming(VmSpec spec) {
        String name = spec.name();
        arriving.put(name, spec.disks().stream().map(VmSpec.Disk::volume).collect(Collectors.toUnmodifiableSet()));
        owner.execute(() -> {
            Runtime runtime = runtimes.computeIfAbsent(name, n -> new Runtime());
            runtime.evacuating = true;
            if (runtime.state != VmState.MIGRATING) {
                if (runtime.state.active()) {
                    LOG.log(Level.WARNING, "{0}: VM {1} arrives by migration but is {2} here", node.id(), name,
                            runtime.state);
                } else {
                    transition(name, VmState.MIGRATING, "arriving from the peer");
                }
            }
            refreshViews();
        });
    }

    /**
     * An incoming migration ended.
     *
     * @param name      the VM
     * @param activated true if the VM runs here now; false if it was abandoned (and destroyed)
     * @param why       for the log and the event
     */
    public void incomingEnded(String name, boolean activated, String why) {
        arriving.remove(name);
        owner.execute(() -> {
            Runtime runtime = runtimes.get(name);
            if (runtime == null) {
                return;
            }
            runtime.evacuating = false;
            if (runtime.state == VmState.MIGRATING) {
                transition(name, activated ? VmState.RUNNING : VmState.STOPPED, why);
            }
            if (!activated && node.primary()) {
                // The migration's memory is lost; the VM starts again from its disks if it should run.
                startWanted("an incoming migration of " + name + " was abandoned");
            }
            refreshViews();
        });
    }

    /**
     * Tells whether a VM arriving here by live migration uses a volume (any thread): its disks are
     * opened before this node becomes primary.
     *
     * @param volume the volume's name
     * @return true while such a migration is under way
     */
    public boolean arrivingWith(String volume) {
        for (Set<String> volumes : arriving.values()) {
            if (volumes.contains(volume)) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------

    /** The configuration's VMs join the catalog (or replace a different definition) as this node takes over. */
    private void ensureConfigured() {
        boolean changed = false;
        for (VmCatalog.Entry configured : settings.configured()) {
            VmSpec spec = configured.spec();
            Optional<VmCatalog.Entry> existing = catalog.get(spec.name());
            if (existing.isPresent() && existing.get().spec().equals(spec)) {
                continue;
            }
            try {
                for (VmSpec.Disk disk : spec.disks()) {
                    node.ensureVolume(disk);
                }
                adapter.define(spec);
                boolean wanted = existing.map(VmCatalog.Entry::wanted).orElse(configured.wanted());
                if (wanted) {
                    try {
                        admit(spec);
                    } catch (VmException e) {
                        LOG.log(Level.WARNING, "{0}: configured VM {1} is not started: {2}", node.id(), spec.name(),
                                e.getMessage());
                        wanted = false;
                    }
                }
                catalog.put(new VmCatalog.Entry(spec, wanted));
                runtimes.computeIfAbsent(spec.name(), name -> new Runtime());
                node.audit("vm-define", spec.name() + " from the configuration", "defined");
                changed = true;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "{0}: the configured VM {1} cannot be defined: {2}", node.id(), spec.name(),
                        e.getMessage());
                node.audit("vm-define", spec.name() + " from the configuration", "failed: " + e.getMessage());
            }
        }
        if (changed) {
            sendCatalog();
        }
    }

    private void startWanted(String why) {
        if (!node.primary()) {
            return;
        }
        for (VmCatalog.Entry entry : catalog.entries()) {
            Runtime runtime = runtimes.computeIfAbsent(entry.spec().name(), name -> new Runtime());
            if (!entry.wanted() || runtime.state.active() || runtime.evacuating || runtime.state == VmState.FAILED) {
                continue;
            }
            node.audit("vm-start", entry.spec().name() + ": " + why, "starting");
            startHere(entry.spec().name(), why);
        }
    }

    private void stopAll(String why) {
        for (Map.Entry<String, Runtime> vm : runtimes.entrySet()) {
            Runtime runtime = vm.getValue();
            if (runtime.evacuating) {
                continue;
            }
            if (runtime.state.active() || runtime.state == VmState.CRASHED) {
                runtime.stopping = true;
                destroyQuietly(vm.getKey());
                runtime.stopping = false;
                transition(vm.getKey(), VmState.STOPPED, why);
                node.audit("vm-destroy", vm.getKey() + ": " + why, "destroyed");
            }
        }
    }

    private void startHere(String name, String why) {
        VmCatalog.Entry entry = catalog.get(name).orElseThrow();
        Runtime runtime = runtime(name);
        transition(name, VmState.STARTING, why);
        runtime.startedAt = wallClock.instant();
        try {
            adapter.define(entry.spec());
            adapter.start(name);
            transition(name, VmState.RUNNING, why);
        } catch (RuntimeException | OutOfMemoryError e) {
            // (An adapter that runs guests in this process can run out of memory for one: that is
            // this VM's failure to start, not the supervisor's end.)
            LOG.log(Level.WARNING, "{0}: VM {1} did not start: {2}", node.id(), name, e.getMessage());
            destroyQuietly(name);
            runtime.detail = "did not start: " + e.getMessage();
            crashes.increment();
            transition(name, VmState.CRASHED, "did not start: " + e.getMessage());
            failIfOverLimit(name, runtime);
        }
    }

    private void onVmEvent(VmEvent event) {
        Runtime runtime = runtimes.get(event.vm());
        if (runtime == null || closed) {
            return;
        }
        if (event.time().isBefore(runtime.startedAt)) {
            // About a run that ended before the current one started (the destroy of a crashed VM
            // that has since been restarted): nothing to do with the VM as it is now.
            return;
        }
        switch (event.kind()) {
            case CRASHED -> {
                if (runtime.state == VmState.RUNNING || runtime.state == VmState.PAUSED
                        || runtime.state == VmState.STOPPING) {
                    crashes.increment();
                    transition(event.vm(), VmState.CRASHED, "crashed: " + event.detail());
                    node.audit("vm-crash", event.vm() + ": " + event.detail(), "reported to the policy");
                    failIfOverLimit(event.vm(), runtime);
                }
            }
            case SHUT_DOWN -> {
                if (!runtime.stopping && (runtime.state == VmState.RUNNING || runtime.state == VmState.PAUSED)) {
                    // The guest powered itself off: that is its choice, not a failure to repair.
                    transition(event.vm(), VmState.STOPPED, "the guest shut down: " + event.detail());
                    catalog.get(event.vm()).filter(VmCatalog.Entry::wanted).ifPresent(entry -> {
                        catalog.put(new VmCatalog.Entry(entry.spec(), false));
                        sendCatalog();
                    });
                    node.audit("vm-shutdown", event.vm() + ": the guest shut down", "left stopped");
                }
            }
            case DESTROYED -> {
                if (!runtime.stopping && !runtime.evacuating
                        && (runtime.state == VmState.RUNNING || runtime.state == VmState.PAUSED)) {
                    // Destroyed by someone else than the pair: as good as a crash.
                    crashes.increment();
                    transition(event.vm(), VmState.CRASHED, "destroyed outside the pair: " + event.detail());
                    failIfOverLimit(event.vm(), runtime);
                }
            }
            case PAUSED -> {
                if (runtime.state == VmState.RUNNING && !runtime.evacuating) {
                    transition(event.vm(), VmState.PAUSED, "paused");
                }
            }
            case RESUMED -> {
                if (runtime.state == VmState.PAUSED) {
                    transition(event.vm(), VmState.RUNNING, "resumed");
                }
            }
            default -> {
                // STARTED and REBOOTED change nothing the supervisor tracks.
            }
        }
        refreshViews();
    }

    private void failIfOverLimit(String name, Runtime runtime) {
        long now = node.nanoTime();
        while (!runtime.restarts.isEmpty() && now - runtime.restarts.peekFirst() > settings.restartWindowNanos()) {
            runtime.restarts.removeFirst();
        }
        if (runtime.restarts.size() >= settings.restartLimit()) {
            transition(name, VmState.FAILED, "crashed " + (runtime.restarts.size() + 1) + " times within the "
                    + "restart window; left stopped for an operator");
            node.audit("vm-failed", name, "restart limit reached");
        }
    }

    private void admit(VmSpec spec) {
        List<VmSpec> running = new ArrayList<>();
        for (VmCatalog.Entry entry : catalog.entries()) {
            if (entry.wanted() && !entry.spec().name().equals(spec.name())) {
                running.add(entry.spec());
            }
        }
        Optional<String> refusal = Admission.refusal(running, spec, adapter.hostResources(), peerResources);
        if (refusal.isPresent()) {
            refusals.increment();
            node.audit("vm-admission", spec.name(), "refused: " + refusal.get());
            throw new VmException(VmException.Reason.ADMISSION, refusal.get());
        }
    }

    private void sendCatalog() {
        if (node.peer().isEmpty()) {
            return;
        }
        HostResources resources = adapter.hostResources();
        boolean primary = node.primary();
        List<Message.CatalogEntry> entries = new ArrayList<>();
        if (primary) {
            for (VmCatalog.Entry entry : catalog.entries()) {
                entries.add(new Message.CatalogEntry(entry.wanted(), VmSpecCodec.encode(entry.spec())));
            }
        }
        node.sendToPeer(new Message.VmCatalog(catalog.version(), resources.cores(), resources.memoryBytes(), primary,
                entries));
    }

    private void destroyQuietly(String name) {
        try {
            if (adapter.info(name).map(info -> info.state().active() || info.state() == VmState.CRASHED)
                    .orElse(false)) {
                adapter.destroy(name);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: destroying VM {1} failed: {2}", node.id(), name, e.getMessage());
        }
    }

    private void transition(String name, VmState next, String reason) {
        Runtime runtime = runtime(name);
        VmState previous = runtime.state;
        if (previous == next) {
            runtime.detail = reason;
            return;
        }
        if (!LEGAL.get(previous).contains(next)) {
            throw new IllegalStateException("VM " + name + ": illegal change " + previous + " -> " + next + " ("
                    + reason + ")");
        }
        runtime.state = next;
        runtime.detail = reason;
        LOG.log(next == VmState.CRASHED || next == VmState.FAILED ? Level.WARNING : Level.INFO,
                "{0}: VM {1} {2} -> {3}: {4}", node.id(), name, previous, next, reason);
        node.publish(new VmStateChanged(wallClock.instant(), node.id(), name, previous, next, reason));
        refreshViews();
    }

    private void refreshViews() {
        long now = node.nanoTime();
        List<VmStatus> nextStatuses = new ArrayList<>();
        List<ManagedVm> nextViews = new ArrayList<>();
        for (VmCatalog.Entry entry : catalog.entries()) {
            Runtime runtime = runtimes.computeIfAbsent(entry.spec().name(), name -> new Runtime());
            while (!runtime.restarts.isEmpty() && now - runtime.restarts.peekFirst() > settings.restartWindowNanos()) {
                runtime.restarts.removeFirst();
            }
            long since = runtime.lastRestartNanos == Long.MIN_VALUE ? Long.MAX_VALUE : now - runtime.lastRestartNanos;
            nextStatuses.add(new VmStatus(entry.spec().name(), runtime.state, runtime.restarts.size(), since));
            boolean here = runtime.state.active() && runtime.state != VmState.STOPPING;
            nextViews.add(new ManagedVm(entry.spec(), entry.wanted(), runtime.state,
                    here ? Optional.of(node.id()) : Optional.empty(), runtime.restarts.size(), runtime.detail,
                    Optional.ofNullable(runtime.migration)));
        }
        statuses = List.copyOf(nextStatuses);
        views = List.copyOf(nextViews);
    }

    private ManagedVm view(String name) {
        refreshViews();
        return get(name).orElseThrow(() -> new VmException(VmException.Reason.NO_SUCH_VM, "no VM named '" + name + "'"));
    }

    private VmCatalog.Entry entry(String name) {
        return catalog.get(name).orElseThrow(() -> new VmException(VmException.Reason.NO_SUCH_VM, "no VM named '"
                + name + "'; defined: " + catalog.entries().stream().map(e -> e.spec().name()).toList()));
    }

    private Runtime runtime(String name) {
        return runtimes.computeIfAbsent(name, n -> new Runtime());
    }

    private void requirePrimary(String what) {
        if (!node.primary()) {
            throw new VmException(VmException.Reason.NOT_PRIMARY, "cannot " + what + ": node " + node.id()
                    + " is not the primary; VMs are changed on the primary");
        }
    }

    /**
     * What the hypervisor says of a VM, if it knows it.
     *
     * @param name the VM
     * @return its info
     */
    public Optional<VmInfo> hypervisorInfo(String name) {
        return adapter.info(name);
    }

    private <T> T call(Callable<T> operation) {
        if (closed) {
            throw new VmException(VmException.Reason.WRONG_STATE, "the node is stopping");
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        owner.execute(() -> {
            try {
                result.complete(operation.call());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get(OPERATION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new VmException(VmException.Reason.HYPERVISOR, e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new VmException(VmException.Reason.HYPERVISOR, "the operation did not finish within "
                    + OPERATION_TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmException(VmException.Reason.HYPERVISOR, "interrupted", e);
        }
    }

    /**
     * Runs a task on the supervisor's thread and waits for it (for the migration engine).
     *
     * @param task the task
     * @param <T>  its result type
     * @return its result
     */
    public <T> T onOwner(Callable<T> task) {
        return call(task);
    }

    @Override
    public void close() {
        closed = true;
        owner.execute(() -> {
            if (subscription != null) {
                try {
                    subscription.close();
                } catch (Exception e) {
                    LOG.log(Level.DEBUG, "unsubscribing", e);
                }
            }
        });
        owner.shutdown();
        try {
            owner.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
