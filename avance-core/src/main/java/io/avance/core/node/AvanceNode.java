package io.avance.core.node;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.event.PairListener;
import io.avance.api.failover.FailoverPolicy;
import io.avance.api.failover.QuorumWitness;
import io.avance.api.failover.RebootHandler;
import io.avance.api.failover.VmStatus;
import io.avance.api.failover.WitnessAnswer;
import io.avance.api.event.PairEvent;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.BlockReplicator;
import io.avance.api.replication.DataState;
import io.avance.api.event.MigrationEnded;
import io.avance.api.hypervisor.DiskAttachment;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.MigrationOptions;
import io.avance.api.migration.MigrationReport;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.VolumeSpec;
import io.avance.api.vm.VmException;
import io.avance.api.vm.VmManager;
import io.avance.core.config.VmConfig;
import io.avance.core.config.VolumeConfig;
import io.avance.core.migration.Evacuation;
import io.avance.core.migration.MigrationEngine;
import io.avance.core.vm.VmCatalog;
import io.avance.core.vm.VmSupervisor;
import io.avance.core.nbd.NbdExports;
import io.avance.core.nbd.NbdServer;
import io.avance.core.replication.ReplicatedVolume;
import io.avance.core.replication.VolumeManager;
import io.avance.core.storage.BlockStoreFactory;
import java.util.concurrent.CompletableFuture;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.PublicPath;
import io.avance.core.failover.DefaultFailoverPolicy;
import io.avance.core.health.FaultRegistry;
import io.avance.core.health.HealthConfig;
import io.avance.core.health.HealthMetrics;
import io.avance.core.journal.AuditJournal;
import io.avance.core.link.LinkListener;
import io.avance.core.link.NetworkMonitor;
import io.avance.core.link.PairingKey;
import io.avance.core.link.PrivateLink;
import io.avance.core.link.PublicNetworkChannel;
import io.avance.core.pair.ControllerSettings;
import io.avance.core.pair.Incarnations;
import io.avance.core.pair.PairAgent;
import io.avance.core.pair.PairController;
import io.avance.core.pair.PairEnvironment;
import io.avance.core.pair.PairStatus;
import io.avance.core.pair.PersistedPairState;
import io.avance.core.time.NanoClock;
import io.avance.core.wire.Message;
import io.avance.core.witness.UdpQuorumWitness;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One node of an Avance pair, as an embedding program builds, starts and stops it.
 *
 * <pre>{@code
 * NodeConfig config = NodeConfigFile.read(Path.of("/etc/avance/node.properties"));
 * try (AvanceNode node = AvanceNode.builder(config).build()) {
 *     node.addListener(event -> log(event));
 *     node.start();
 *     ...
 * }
 * }</pre>
 *
 * <p>The node owns: a lock on its data directory (two processes must never share one), its
 * persisted epoch, its audit journal, its fault registry, the private link and the public-network
 * heartbeat channels, and the agent thread that runs the pair controller. Thread-safe.
 *
 * <p>A <em>reboot</em> requested by the primary (the default {@link RebootHandler}) restarts all
 * of this in process with a new incarnation, keeping the fault registry and the journal: that
 * recovers what a software reset can. An appliance that can reboot the machine passes its own
 * handler.
 */
public final class AvanceNode implements AutoCloseable {

    private static final Logger LOG = System.getLogger(AvanceNode.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final NodeConfig config;
    private final FailoverPolicy policy;
    private final MeterRegistry meters;
    private final NanoClock clock;
    private final Clock wallClock;
    /** The last incarnation this node ran (0 before the first). */
    private long lastIncarnation;
    private final Optional<QuorumWitness> witness;
    private final RebootHandler rebootHandler;
    private final FaultRegistry faults;
    private final List<PairListener> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService events;
    private final ExecutorService witnessCalls;
    private final PairAgent agent;
    private final VolumeManager volumes;
    private final Optional<HypervisorAdapter> hypervisor;
    private final MigrationOptions migrationOptions;
    private final Object lifecycle = new Object();
    private VmSupervisor supervisor;
    private io.avance.core.admin.AdminServer admin;
    private MigrationEngine migrations;
    private volatile Evacuation evacuation;

    private EventLoopGroup group;
    private AuditJournal journal;
    private FileChannel lockChannel;
    private FileLock lock;
    private NbdServer nbd;
    private volatile Incarnation current;
    private volatile boolean started;
    private volatile boolean closed;
    private volatile boolean maintenance;

    private AvanceNode(Builder builder) {
        this.config = builder.config;
        this.policy = builder.policy;
        this.meters = builder.meters;
        this.clock = builder.clock;
        this.wallClock = builder.wallClock;
        this.witness = builder.witness != null ? Optional.of(builder.witness)
                : config.witness().map(address -> new UdpQuorumWitness(address, config.pairingSecret(), 100, 2));
        this.rebootHandler = builder.rebootHandler != null ? builder.rebootHandler : this::softReboot;
        this.faults = new FaultRegistry(config.nodeId(), clock, wallClock, builder.healthConfig);
        String name = config.nodeId().value();
        this.events = Executors.newSingleThreadExecutor(new DefaultThreadFactory("avance-events-" + name, true));
        this.witnessCalls = Executors.newSingleThreadExecutor(new DefaultThreadFactory("avance-witness-" + name, true));
        this.agent = new PairAgent(name);
        this.faults.addListener(this::dispatch);
        HealthMetrics.bind(config.nodeId(), faults, meters);
        listeners.addAll(builder.listeners);
        this.volumes = new VolumeManager(new VolumeNode(), config.volumeDirectory(), builder.stores,
                config.resyncRateBytesPerSecond(), clock, wallClock, meters);
        this.hypervisor = builder.hypervisor != null ? Optional.of(builder.hypervisor)
                : config.hypervisor().map(AvanceNode::loadHypervisor);
        this.migrationOptions = builder.migrationOptions;
    }

    /** Finds a hypervisor adapter by name among those on the class path ({@link java.util.ServiceLoader}). */
    private static HypervisorAdapter loadHypervisor(String name) {
        List<String> found = new ArrayList<>();
        for (HypervisorAdapter adapter : java.util.ServiceLoader.load(HypervisorAdapter.class)) {
            if (adapter.name().equals(name)) {
                return adapter;
            }
            found.add(adapter.name());
        }
        throw new io.avance.core.config.ConfigException("hypervisor", name, "no hypervisor adapter of that name on "
                + "the class path (found: " + found + ")");
    }

    /**
     * Starts building a node.
     *
     * @param config the node's validated configuration
     * @return a builder
     */
    public static Builder builder(NodeConfig config) {
        return new Builder(config);
    }

    /**
     * Locks the data directory, loads the persisted epoch, opens the journal and the links, and
     * starts the duty cycle. Returns once the node is listening; pairing happens in the background.
     *
     * @throws IllegalStateException if the data directory is in use by another process, belongs to
     *                               another node, or an address cannot be bound
     */
    public void start() {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException("a node starts once");
            }
            Path directory = config.dataDirectory();
            try {
                Files.createDirectories(directory);
                lockChannel = FileChannel.open(directory.resolve("node.lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE);
                try {
                    lock = lockChannel.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    lockChannel.close();
                    throw new IllegalStateException("the data directory " + directory
                            + " is in use by another Avance node (in this process or another)");
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot lock the data directory " + directory, e);
            }
            journal = new AuditJournal(directory, config.nodeId(), wallClock);
            group = new MultiThreadIoEventLoopGroup(2,
                    new DefaultThreadFactory("avance-link-" + config.nodeId(), true), NioIoHandler.newFactory());
            journal.record("system", "start", "node " + config.nodeId() + (config.standalone() ? " (standalone)"
                    : " paired with " + config.peer().get().id()), "starting");
            for (VolumeConfig volume : config.volumes()) {
                volumes.open(volume.spec(), volume.path());
                volumes.configured(volume.spec().name());
            }
            if (config.nbdListen().isPresent()) {
                nbd = new NbdServer(config.nbdListen().get(), new NodeExports(), meters, config.nodeId().value());
                try {
                    nbd.start();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            if (hypervisor.isPresent()) {
                startVms(hypervisor.get());
            }
            current = startIncarnation();
            started = true;
            config.adminSocket().ifPresent(socket -> {
                try {
                    admin = new io.avance.core.admin.AdminServer(socket, new NodeAdministration(this),
                            config.nodeId().value());
                } catch (RuntimeException e) {
                    // The node serves without it; only the command line loses its way in.
                    LOG.log(Level.WARNING, "{0}: no administration socket: {1}", config.nodeId(), e.getMessage());
                }
            });
        }
    }

    private void startVms(HypervisorAdapter adapter) {
        io.avance.api.hypervisor.Availability availability = adapter.probe();
        if (!availability.available()) {
            throw new IllegalStateException("the " + adapter.name() + " hypervisor is not available here: "
                    + availability.reason());
        }
        adapter.open(new NodeHypervisorContext());
        List<VmCatalog.Entry> configured = new ArrayList<>();
        for (VmConfig vm : config.vms()) {
            configured.add(new VmCatalog.Entry(vm.spec(), vm.start()));
        }
        VmSupervisor.Settings settings = new VmSupervisor.Settings(config.policy().vmRestartLimit(),
                config.policy().incidentWindowNanos(), configured);
        supervisor = new VmSupervisor(new SupervisedNode(), adapter, new VmCatalog(config.dataDirectory()), settings,
                wallClock, meters);
        supervisor.start();
        migrations = new MigrationEngine(new MigratingNode(), supervisor, clock, wallClock, meters);
    }

    /**
     * This node's id.
     *
     * @return the id
     */
    public NodeId id() {
        return config.nodeId();
    }

    /**
     * The node's configuration.
     *
     * @return the configuration it was built with
     */
    public NodeConfig config() {
        return config;
    }

    /**
     * This node's role now.
     *
     * @return the role; {@link PairRole#UNDECIDED} before start, {@link PairRole#STOPPED} after close
     */
    public PairRole role() {
        Incarnation incarnation = current;
        return incarnation == null ? (closed ? PairRole.STOPPED : PairRole.UNDECIDED) : incarnation.controller.role();
    }

    /**
     * The pair as this node sees it, as of the last duty cycle.
     *
     * @return the status, or empty before start
     */
    public Optional<PairStatus> status() {
        Incarnation incarnation = current;
        return incarnation == null ? Optional.empty() : Optional.of(incarnation.controller.status());
    }

    /**
     * Tells whether this node may serve right now: it is primary and its serving lease holds. Data
     * paths ask this before acknowledging anything.
     *
     * @return true if it may serve
     */
    public boolean mayServe() {
        Incarnation incarnation = current;
        return incarnation != null && incarnation.controller.mayServe(clock.nanoTime());
    }

    /**
     * This node's replicated volumes.
     *
     * @return the replicator (volumes are created and served on the primary)
     */
    public BlockReplicator volumes() {
        return volumes;
    }

    /**
     * The engine behind {@link #volumes()}, for the NBD server and tools in this module.
     *
     * @return the volume manager
     */
    public VolumeManager volumeManager() {
        return volumes;
    }

    /**
     * Where the NBD server listens (useful when configured with port 0).
     *
     * @return the bound address, or empty without {@code nbd.listen} or before start
     */
    public Optional<InetSocketAddress> nbdAddress() {
        NbdServer server = nbd;
        return server == null ? Optional.empty() : Optional.of(server.localAddress());
    }

    /**
     * This node's faults; report hardware faults here.
     *
     * @return the fault registry
     */
    public FaultRegistry faults() {
        return faults;
    }

    /**
     * The meter registry the node reports to.
     *
     * @return the registry
     */
    public MeterRegistry meters() {
        return meters;
    }

    /**
     * The audit journal.
     *
     * @return the journal, or null before start
     */
    public AuditJournal journal() {
        return journal;
    }

    /**
     * The address the private link listens on (useful when configured with port 0).
     *
     * @return the bound address, or empty for a standalone node or before start
     */
    public Optional<InetSocketAddress> privateLinkAddress() {
        Incarnation incarnation = current;
        return incarnation == null || incarnation.link == null ? Optional.empty()
                : Optional.of(incarnation.link.localAddress());
    }

    /**
     * Registers a listener for the node's events. Listeners are called in order on one thread of
     * the node's; a slow listener delays the others but never the engine.
     *
     * @param listener the listener
     */
    public void addListener(PairListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Unregisters a listener.
     *
     * @param listener one registered before
     */
    public void removeListener(PairListener listener) {
        listeners.remove(listener);
    }

    /**
     * Puts the node in or out of maintenance mode: in maintenance it takes no VMs and does not
     * take over.
     *
     * @param on true to enter maintenance
     */
    public void setMaintenance(boolean on) {
        maintenance = on;
        Incarnation incarnation = current;
        if (incarnation != null) {
            incarnation.controller.setMaintenance(on);
        }
        recordOperatorAction("maintenance", on ? "on" : "off");
    }

    /**
     * Tells whether an operator put this node in maintenance mode.
     *
     * @return true in maintenance
     */
    public boolean maintenance() {
        return maintenance;
    }

    /**
     * The pair's VMs, managed from this node (changes are accepted on the primary).
     *
     * @return the VM manager
     * @throws IllegalStateException if the node has no hypervisor (none configured or passed)
     */
    public VmManager vms() {
        VmSupervisor current = supervisor;
        if (current == null) {
            throw new IllegalStateException("node " + config.nodeId() + " has no hypervisor: set 'hypervisor' in its "
                    + "configuration, or pass one to the builder");
        }
        return current;
    }

    /**
     * Creates and deletes VMs with their disks, as an operator asks (the command line, the
     * monitor); on the primary.
     *
     * @param actor    who asks, for the journal
     * @param progress where progress lines go besides the log
     * @return a provisioner acting for this node
     * @throws IllegalStateException if the node has no hypervisor
     */
    public io.avance.core.vm.VmProvisioning provisioning(String actor, java.util.function.Consumer<String> progress) {
        VmManager manager = vms();
        return new io.avance.core.vm.VmProvisioning(new io.avance.core.vm.VmProvisioning.Host() {
            @Override
            public VmManager vms() {
                return manager;
            }

            @Override
            public Optional<InetSocketAddress> nbdAddress() {
                return AvanceNode.this.nbdAddress();
            }

            @Override
            public Optional<String> backupNotUpToDate() {
                if (config.peer().isEmpty()) {
                    return Optional.empty();
                }
                Optional<PairStatus> status = status();
                if (status.isEmpty() || status.get().peer().isEmpty()) {
                    return Optional.of("the peer has not been heard");
                }
                if (status.get().paths().stream().noneMatch(io.avance.api.failover.PathStatus::peerAlive)) {
                    return Optional.of("the peer is not heard on any path");
                }
                io.avance.api.failover.NodeView peer = status.get().peer().get();
                if (peer.role() != PairRole.BACKUP) {
                    return Optional.of("the peer is " + peer.role());
                }
                // The volumes know first: a volume in sync has a current copy on the backup (the
                // peer's own report of its data follows a heartbeat later).
                List<ReplicatedVolume> all = volumes.all();
                for (ReplicatedVolume volume : all) {
                    if (volume.state() != io.avance.api.replication.ReplicationState.SYNCED) {
                        return Optional.of("volume " + volume.name() + " is " + volume.state());
                    }
                }
                if (all.isEmpty() && peer.data() != io.avance.api.replication.DataState.UP_TO_DATE) {
                    return Optional.of("the peer is BACKUP with " + peer.data() + " data");
                }
                return Optional.empty();
            }

            @Override
            public void checkAdmission(VmSpec spec) {
                supervisor.checkAdmission(spec);
            }

            @Override
            public boolean volumeExists(String volume) {
                return volumes.volume(volume).isPresent();
            }

            @Override
            public java.util.concurrent.CompletableFuture<Void> deleteVolume(String volume) {
                return volumes.delete(volume);
            }

            @Override
            public void audit(String action, String detail, String outcome) {
                journal.record(actor, action, detail, outcome);
            }
        }, line -> {
            LOG.log(Level.INFO, "{0}: {1}", config.nodeId(), line);
            progress.accept(line);
        });
    }

    /**
     * Asks for a planned switchover: every VM live-migrates to the backup, then the backup becomes
     * primary. Returns at once; {@link io.avance.api.event.RoleChanged} and
     * {@link MigrationEnded} events tell how it went.
     *
     * @param reason why, for the audit journal
     * @return "started", "pending" (one is under way), or "refused: why"
     */
    public String switchover(String reason) {
        Incarnation incarnation = current;
        if (incarnation == null) {
            return "refused: the node is not running";
        }
        CompletableFuture<String> outcome = new CompletableFuture<>();
        agent.execute(() -> outcome.complete(current == incarnation
                ? incarnation.controller.requestSwitchover(reason, clock.nanoTime()) : "refused: restarting"));
        String result;
        try {
            result = outcome.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            result = "refused: " + e;
        }
        recordOperatorAction("switchover", reason + ": " + result);
        return result;
    }

    /**
     * Forgets that the peer was declared down, after an operator repaired it.
     */
    public void clearPeerDeclaredDown() {
        Incarnation incarnation = current;
        if (incarnation != null) {
            agent.execute(incarnation.controller::clearPeerDeclaredDown);
        }
    }

    private void recordOperatorAction(String action, String detail) {
        AuditJournal open = journal;
        if (open != null) {
            open.record("operator", action, detail, "done");
        }
    }

    // ------------------------------------------------------------------------------------------

    private Incarnation startIncarnation() {
        long incarnationId = Incarnations.next(lastIncarnation, wallClock.millis(), RANDOM.nextInt());
        lastIncarnation = incarnationId;
        PersistedPairState state = PersistedPairState.load(config.dataDirectory(), config.nodeId());
        Incarnation incarnation = new Incarnation(incarnationId);
        NodeEnvironment environment = new NodeEnvironment(incarnation);
        incarnation.controller = new PairController(ControllerSettings.from(config, witness.isPresent()), policy,
                faults, environment, state, wallClock, meters, incarnationId, clock.nanoTime());
        incarnation.controller.setMaintenance(maintenance);
        LOG.log(Level.INFO, "{0}: starting (epoch {1}, primary {2}) with {3}", config.nodeId(), state.epoch(),
                state.epochPrimary().map(NodeId::value).orElse("none"), config);
        if (config.peer().isPresent()) {
            PairingKey key = new PairingKey(config.pairingSecret());
            NodeConfig.Peer peer = config.peer().get();
            incarnation.link = new PrivateLink(config.nodeId(), peer.id(), config.privateListen(), peer.privateAddress(),
                    key, incarnationId, config.handshakeTimeoutNanos(), config.reconnectIntervalNanos(),
                    config.maxFrameBytes(), group, new LinkListener() {
                        @Override
                        public void onSessionUp(long peerIncarnation) {
                            incarnation.execute(c -> c.onPrivateSessionUp(peerIncarnation, clock.nanoTime()));
                            if (supervisor != null) {
                                supervisor.onPeerSessionUp();
                            }
                        }

                        @Override
                        public void onSessionDown(String reason) {
                            incarnation.execute(c -> c.onPrivateSessionDown(reason, clock.nanoTime()));
                        }

                        @Override
                        public void onMessage(Message message) {
                            if (message instanceof Message.VmCatalog catalog) {
                                if (supervisor != null) {
                                    supervisor.onPeerCatalog(catalog);
                                }
                                // Hearing the peer is hearing it, whatever it says.
                            }
                            incarnation.execute(c -> c.onMessage(PairController.PRIVATE_PATH, message, clock.nanoTime()));
                        }
                    }, volumes);
            PrivateLink link = incarnation.link;
            volumes.attach(VolumeManager.DataSender.over(link));
            if (migrations != null) {
                link.attachMigration(migrations);
                migrations.attach(new MigrationEngine.Link() {
                    @Override
                    public boolean send(io.netty.buffer.ByteBuf frame) {
                        return link.sendMigration(frame);
                    }

                    @Override
                    public io.netty.buffer.ByteBufAllocator allocator() {
                        return link.migrationAllocator();
                    }

                    @Override
                    public boolean writable() {
                        return link.migrationWritable();
                    }

                    @Override
                    public boolean connected() {
                        return link.migrationConnected();
                    }
                });
            }
            // Probe every public network that has a probe address, at the heartbeat interval: the
            // isolation rule needs this node's view of its networks to be current.
            incarnation.networks = new NetworkMonitor(config.publicPaths(), faults,
                    config.timings().heartbeatIntervalNanos(), 2 * config.timings().heartbeatIntervalNanos(),
                    config.nodeId().value());
            try {
                for (PublicPath path : config.publicPaths()) {
                    incarnation.publics.put(path.name(), new PublicNetworkChannel(path, key,
                            (network, message) -> incarnation.execute(c -> c.onMessage(network, message,
                                    clock.nanoTime())), config.nodeId().value(), clock));
                }
                incarnation.link.start();
            } catch (IOException | RuntimeException e) {
                incarnation.close();
                throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
            }
        }
        agent.startTicking(() -> {
            if (current == incarnation) {
                incarnation.controller.onTick(clock.nanoTime());
            }
        }, config.tickIntervalNanos());
        return incarnation;
    }

    private void softReboot(String reason) {
        agent.execute(() -> {
            synchronized (lifecycle) {
                if (closed) {
                    return;
                }
                LOG.log(Level.WARNING, "{0}: rebooting in process: {1}", config.nodeId(), reason);
                journal.record("system", "reboot", reason, "restarting in process");
                Incarnation old = current;
                agent.stopTicking();
                old.controller.stop("rebooting", clock.nanoTime());
                old.close();
                current = startIncarnation();
            }
        });
    }

    private void dispatch(PairEvent event) {
        if (closed) {
            return;
        }
        events.execute(() -> {
            for (PairListener listener : listeners) {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "a pair listener failed on " + event, e);
                }
            }
        });
    }

    /**
     * Stops the node: the duty cycle, the links, the journal, and releases the data directory.
     * Does not hand the primary role over first; call a switchover before a planned stop.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            if (admin != null) {
                admin.close();
            }
            Incarnation incarnation = current;
            if (incarnation != null) {
                agent.execute(() -> incarnation.controller.stop("node stopped", clock.nanoTime()));
            }
            agent.close();
            if (migrations != null) {
                migrations.close();
            }
            if (supervisor != null) {
                supervisor.close();
            }
            hypervisor.ifPresent(adapter -> {
                try {
                    adapter.close();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "closing the hypervisor adapter", e);
                }
            });
            if (nbd != null) {
                nbd.close();
            }
            if (incarnation != null) {
                incarnation.close();
            }
            volumes.close();
            if (journal != null) {
                journal.record("system", "stop", "node " + config.nodeId(), "stopped");
                journal.close();
            }
            events.shutdown();
            witnessCalls.shutdownNow();
            try {
                events.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (group != null) {
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
            }
            try {
                if (lock != null) {
                    lock.release();
                }
                if (lockChannel != null) {
                    lockChannel.close();
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "releasing the data directory lock", e);
            }
        }
    }

    /**
     * The parts of a node that a reboot replaces: the controller and its links.
     */
    private final class Incarnation {
        final long id;
        PairController controller;
        PrivateLink link;
        NetworkMonitor networks;
        final Map<String, PublicNetworkChannel> publics = new LinkedHashMap<>();

        Incarnation(long id) {
            this.id = id;
        }

        /** Runs a controller input on the agent thread, unless this incarnation was replaced. */
        void execute(java.util.function.Consumer<PairController> input) {
            agent.execute(() -> {
                if (current == this) {
                    input.accept(controller);
                }
            });
        }

        void close() {
            if (networks != null) {
                networks.close();
            }
            if (link != null) {
                link.close();
            }
            publics.values().forEach(PublicNetworkChannel::close);
        }
    }

    /**
     * The controller's view of the world: the links, the disk, the journal, the listeners.
     */
    private final class NodeEnvironment implements PairEnvironment {
        private final Incarnation incarnation;

        NodeEnvironment(Incarnation incarnation) {
            this.incarnation = incarnation;
        }

        @Override
        public boolean sendPrivate(Message message) {
            return incarnation.link != null && incarnation.link.send(message);
        }

        @Override
        public boolean sendPublic(String network, Message message) {
            PublicNetworkChannel channel = incarnation.publics.get(network);
            if (channel == null) {
                return false;
            }
            boolean sent = channel.send(message);
            if (sent) {
                incarnation.networks.sendSucceeded(network);
            } else {
                incarnation.networks.sendFailed(network, String.valueOf(channel.lastSendError()));
            }
            return sent;
        }

        @Override
        public void persist(PersistedPairState state) {
            state.save(config.dataDirectory());
        }

        @Override
        public void publish(PairEvent event) {
            dispatch(event);
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            journal.record("system", action, detail, outcome);
        }

        @Override
        public void rebootSelf(String reason) {
            rebootHandler.reboot(reason);
        }

        @Override
        public boolean fencePeer(NodeId peer) {
            return false;
        }

        @Override
        public void claimWitness(long epoch, Duration lease) {
            if (witness.isEmpty()) {
                return;
            }
            long sentAt = clock.nanoTime();
            witnessCalls.execute(() -> {
                WitnessAnswer answer;
                try {
                    answer = witness.get().claim(config.nodeId(), epoch, lease);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "the quorum witness failed", e);
                    answer = WitnessAnswer.unreachable();
                }
                WitnessAnswer result = answer;
                incarnation.execute(c -> c.onWitnessAnswer(epoch, sentAt, result, clock.nanoTime()));
            });
        }

        @Override
        public void beginGracefulFailover(NodeId peer) {
            List<String> running = new ArrayList<>();
            if (supervisor != null) {
                for (io.avance.api.vm.ManagedVm vm : supervisor.list()) {
                    if (vm.state() == VmState.RUNNING || vm.state() == VmState.PAUSED) {
                        running.add(vm.name());
                    }
                }
            }
            Set<String> moving = Set.copyOf(running);
            Optional<String> unsettled = vmNotMoving(moving);
            if (unsettled.isPresent()) {
                String why = unsettled.get();
                incarnation.execute(c -> c.onGracefulFailoverFailed(why, clock.nanoTime()));
                return;
            }
            if (running.isEmpty()) {
                incarnation.execute(c -> {
                    // A VM that began to start meanwhile would die in the handover: not now.
                    Optional<String> late = vmNotMoving(moving);
                    if (late.isPresent()) {
                        c.onGracefulFailoverFailed(late.get(), clock.nanoTime());
                    } else {
                        c.onReadyToHandOver(clock.nanoTime());
                    }
                });
                return;
            }
            evacuation = migrations.evacuate(running, migrationOptions, new Evacuation.Listener() {
                @Override
                public void onReadyToSwitch() {
                    // Every VM is paused and held by the peer: hand the role over, then let them run there.
                    incarnation.execute(c -> {
                        Optional<String> late = vmNotMoving(moving);
                        if (late.isPresent()) {
                            // Started here while the others migrated: the handover would kill it.
                            Evacuation current = evacuation;
                            if (current != null) {
                                current.cancel(late.get());
                            }
                            return;
                        }
                        c.onReadyToHandOver(clock.nanoTime());
                        boolean handedOver = c.liveRole() != PairRole.PRIMARY;
                        Evacuation current = evacuation;
                        if (current != null) {
                            current.switchOver(handedOver);
                        }
                    });
                }

                @Override
                public void onFailed(String reason) {
                    incarnation.execute(c -> c.onGracefulFailoverFailed(reason, clock.nanoTime()));
                }

                @Override
                public void onEnded(List<MigrationReport> reports) {
                    evacuation = null;
                }
            });
        }

        /**
         * A VM that lives on this node (running, paused, starting, stopping or migrating) and is
         * not among those moving: handing the primary role over now would stop it here and
         * start it afresh on the peer, a reboot where a live migration was asked for.
         */
        private Optional<String> vmNotMoving(Set<String> moving) {
            if (supervisor == null) {
                return Optional.empty();
            }
            for (io.avance.api.vm.ManagedVm vm : supervisor.list()) {
                VmState state = vm.state();
                boolean here = state == VmState.RUNNING || state == VmState.PAUSED || state == VmState.STARTING
                        || state == VmState.STOPPING || state == VmState.MIGRATING;
                if (here && !moving.contains(vm.name())) {
                    return Optional.of("VM " + vm.name() + " is " + state + " here: a switchover live-migrates"
                            + " running VMs, and waits until this one has started or stopped");
                }
            }
            return Optional.empty();
        }

        @Override
        public void restartVm(String vm) {
            if (supervisor != null) {
                supervisor.restartCrashed(vm);
            }
        }

        @Override
        public void onRoleChanged(PairRole from, PairRole to, long epoch) {
            // Serving starts and stops through mayServe(); volumes plan their sync again.
            volumes.roleChanged();
            if (from == PairRole.PRIMARY && nbd != null) {
                nbd.disconnectAll("this node is no longer primary (" + to + " in epoch " + epoch + ")");
            }
            if (supervisor != null && (from == PairRole.PRIMARY || to == PairRole.PRIMARY)) {
                supervisor.onRoleChanged(to == PairRole.PRIMARY);
            }
        }

        @Override
        public List<VmStatus> vms() {
            return supervisor == null ? List.of() : supervisor.vms();
        }

        @Override
        public DataState dataState() {
            return volumes.dataState();
        }

        @Override
        public boolean writesWithoutPeer() {
            return volumes.degraded();
        }

        @Override
        public void onPeerWritesWithoutThisNode(boolean degraded) {
            volumes.peerDegraded(degraded);
        }

        @Override
        public void onPeerSilentTooLong() {
            volumes.peerSilent();
        }

        @Override
        public void onPrivateLinkSilent(String reason) {
            PrivateLink link = incarnation.link;
            if (link != null) {
                link.resetSilentSessions(reason);
            }
        }
    }

    /**
     * What the hypervisor adapter gets from the node: its directory, and the VMs' disks.
     */
    private final class NodeHypervisorContext implements HypervisorContext {
        @Override
        public NodeId node() {
            return config.nodeId();
        }

        @Override
        public Path stateDirectory() {
            Path directory = config.dataDirectory().resolve("hypervisor");
            try {
                Files.createDirectories(directory);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return directory;
        }

        @Override
        public DiskAttachment attach(VmSpec.Disk disk) {
            io.avance.api.replication.Volume volume = volumes.open(disk.volume());
            java.net.URI uri = nbdAddress().map(address -> java.net.URI.create("nbd://" + address.getHostString() + ":"
                    + address.getPort() + "/" + disk.volume())).orElse(java.net.URI.create("avance-volume:"
                    + disk.volume()));
            return new DiskAttachment(volume, uri);
        }
    }

    /**
     * What the VM supervisor needs from the node.
     */
    private final class SupervisedNode implements VmSupervisor.Node {
        @Override
        public NodeId id() {
            return config.nodeId();
        }

        @Override
        public Optional<NodeId> peer() {
            return config.peer().map(NodeConfig.Peer::id);
        }

        @Override
        public boolean primary() {
            Incarnation incarnation = current;
            return incarnation != null && incarnation.controller.liveRole() == PairRole.PRIMARY;
        }

        @Override
        public boolean mayServe() {
            return AvanceNode.this.mayServe();
        }

        @Override
        public long nanoTime() {
            return clock.nanoTime();
        }

        @Override
        public void publish(PairEvent event) {
            dispatch(event);
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            AuditJournal open = journal;
            if (open != null) {
                open.record("system", action, detail, outcome);
            }
        }

        @Override
        public boolean sendToPeer(Message message) {
            Incarnation incarnation = current;
            return incarnation != null && incarnation.link != null && incarnation.link.send(message);
        }

        @Override
        public void ensureVolume(VmSpec.Disk disk) {
            Optional<ReplicatedVolume> existing = volumes.volume(disk.volume());
            if (existing.isPresent()) {
                if (existing.get().sizeBytes() != disk.sizeBytes()) {
                    throw new VmException(VmException.Reason.INVALID, "volume " + disk.volume() + " holds "
                            + existing.get().sizeBytes() + " bytes, the disk wants " + disk.sizeBytes());
                }
                return;
            }
            volumes.create(VolumeSpec.of(disk.volume(), disk.sizeBytes()));
        }
    }

    /**
     * What the migration engine needs from the node.
     */
    private final class MigratingNode implements MigrationEngine.Host {
        private final SupervisedNode delegate = new SupervisedNode();

        @Override
        public NodeId id() {
            return config.nodeId();
        }

        @Override
        public Optional<NodeId> peer() {
            return delegate.peer();
        }

        @Override
        public boolean primary() {
            return delegate.primary() && mayServe();
        }

        @Override
        public boolean acceptsIncoming() {
            return !maintenance && !delegate.primary();
        }

        @Override
        public boolean volumesReady(VmSpec spec) {
            for (VmSpec.Disk disk : spec.disks()) {
                Optional<ReplicatedVolume> volume = volumes.volume(disk.volume());
                if (volume.isEmpty()) {
                    return false;
                }
                ReplicationState state = volume.get().state();
                if (state == ReplicationState.CONNECTED) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void publish(PairEvent event) {
            dispatch(event);
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            delegate.audit(action, detail, outcome);
        }
    }

    /**
     * What the NBD server serves: the volumes, while this node is primary.
     */
    private final class NodeExports implements NbdExports {
        @Override
        public List<String> names() {
            List<String> names = new ArrayList<>();
            for (ReplicatedVolume volume : volumes.all()) {
                names.add(volume.name());
            }
            return names;
        }

        @Override
        public Optional<ReplicatedVolume> volume(String name) {
            return volumes.volume(name);
        }

        @Override
        public boolean mayServe() {
            return AvanceNode.this.mayServe();
        }

        @Override
        public boolean mayReadCopy(String name) {
            VmSupervisor vms = supervisor;
            return vms != null && vms.arrivingWith(name);
        }

        @Override
        public String notServingReason() {
            Optional<PairStatus> status = status();
            String role = status.map(s -> s.role().name().toLowerCase(java.util.Locale.ROOT)).orElse("starting");
            Optional<NodeId> primary = status.flatMap(PairStatus::epochPrimary)
                    .filter(id -> !id.equals(config.nodeId()));
            return "node " + config.nodeId() + " is " + role + " and does not serve volumes"
                    + primary.map(id -> "; connect to the primary, node " + id).orElse("");
        }
    }

    /**
     * What the volumes need from the node; it outlives incarnations, so it asks the current one.
     */
    private final class VolumeNode implements VolumeManager.Node {
        @Override
        public NodeId id() {
            return config.nodeId();
        }

        @Override
        public long replicationAckTimeoutNanos() {
            return config.replicationAckTimeoutNanos();
        }

        @Override
        public boolean mayServe() {
            return AvanceNode.this.mayServe();
        }

        @Override
        public boolean primary() {
            // The live role: volumes act on a role change from inside it, before status is published.
            Incarnation incarnation = current;
            return incarnation != null && incarnation.controller.liveRole() == PairRole.PRIMARY;
        }

        @Override
        public boolean paired() {
            return !config.standalone();
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            CompletableFuture<Void> fence = new CompletableFuture<>();
            Incarnation incarnation = current;
            if (incarnation == null) {
                fence.completeExceptionally(new IllegalStateException("the node is not running"));
                return fence;
            }
            agent.execute(() -> {
                if (current != incarnation) {
                    fence.completeExceptionally(new IllegalStateException("the node restarted"));
                    return;
                }
                incarnation.controller.announceDegraded(clock.nanoTime()).whenComplete((ignored, error) -> {
                    if (error != null) {
                        fence.completeExceptionally(error);
                    } else {
                        fence.complete(null);
                    }
                });
            });
            return fence;
        }

        @Override
        public void diskFailed(String volume, String cause) {
            faults.raise(Fault.of(Component.DISK, "volume:" + volume, Severity.CRITICAL,
                    "I/O error on the local copy: " + cause));
        }

        @Override
        public void publish(PairEvent event) {
            dispatch(event);
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            AuditJournal open = journal;
            if (open != null) {
                open.record("system", action, detail, outcome);
            }
        }
    }

    /**
     * Collects what the node needs beyond its configuration.
     */
    public static final class Builder {
        private final NodeConfig config;
        private FailoverPolicy policy;
        private MeterRegistry meters = new SimpleMeterRegistry();
        private NanoClock clock = NanoClock.system();
        private Clock wallClock = Clock.systemUTC();
        private QuorumWitness witness;
        private RebootHandler rebootHandler;
        private HealthConfig healthConfig = HealthConfig.defaults();
        private final List<PairListener> listeners = new ArrayList<>();
        private BlockStoreFactory stores = BlockStoreFactory.files();
        private HypervisorAdapter hypervisor;
        private MigrationOptions migrationOptions = MigrationOptions.DEFAULT;

        private Builder(NodeConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            this.policy = new DefaultFailoverPolicy(config.policy());
        }

        /**
         * @param policy the failover policy (default: {@link DefaultFailoverPolicy} with the
         *               configuration's {@code policy.*} settings)
         * @return this
         */
        public Builder policy(FailoverPolicy policy) {
            this.policy = Objects.requireNonNull(policy);
            return this;
        }

        /** @param meters where metrics go (default: an in-memory registry) @return this */
        public Builder meterRegistry(MeterRegistry meters) {
            this.meters = Objects.requireNonNull(meters);
            return this;
        }

        /**
         * Sets the clocks (default: the system's).
         *
         * @param clock     the monotonic clock
         * @param wallClock the wall clock
         * @return this
         */
        public Builder clocks(NanoClock clock, Clock wallClock) {
            this.clock = Objects.requireNonNull(clock);
            this.wallClock = Objects.requireNonNull(wallClock);
            return this;
        }

        /**
         * @param witness a quorum witness (default: the configuration's {@code witness.address}, if any)
         * @return this
         */
        public Builder witness(QuorumWitness witness) {
            this.witness = Objects.requireNonNull(witness);
            return this;
        }

        /** @param handler what a reboot request does (default: restart in process) @return this */
        public Builder rebootHandler(RebootHandler handler) {
            this.rebootHandler = Objects.requireNonNull(handler);
            return this;
        }

        /** @param healthConfig MTBF and trend settings @return this */
        public Builder healthConfig(HealthConfig healthConfig) {
            this.healthConfig = Objects.requireNonNull(healthConfig);
            return this;
        }

        /**
         * @param stores opens the volumes' data (default: files and block devices); tests pass
         *               stores that fail on command
         * @return this
         */
        public Builder blockStores(BlockStoreFactory stores) {
            this.stores = Objects.requireNonNull(stores);
            return this;
        }

        /**
         * @param adapter the hypervisor that runs this node's VMs (default: the configuration's
         *                {@code hypervisor}, found on the class path; without either the node runs no VMs)
         * @return this
         */
        public Builder hypervisor(HypervisorAdapter adapter) {
            this.hypervisor = Objects.requireNonNull(adapter);
            return this;
        }

        /** @param options how VMs migrate in a switchover (default: 50 ms pause target, 30 rounds) @return this */
        public Builder migrationOptions(MigrationOptions options) {
            this.migrationOptions = Objects.requireNonNull(options);
            return this;
        }

        /** @param listener a listener registered before start, so it sees every event @return this */
        public Builder listener(PairListener listener) {
            this.listeners.add(Objects.requireNonNull(listener));
            return this;
        }

        /**
         * Builds the node; it does nothing until {@link AvanceNode#start()}.
         *
         * @return the node
         */
        public AvanceNode build() {
            return new AvanceNode(this);
        }
    }
}
