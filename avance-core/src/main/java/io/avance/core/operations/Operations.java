package io.avance.core.operations;

import io.avance.api.PairRole;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.RoleChanged;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PathStatus;
import io.avance.core.alert.AlertMailer;
import io.avance.core.availability.AvailabilityRecorder;
import io.avance.core.bundle.DiagnosticBundle;
import io.avance.core.bundle.LogBuffer;
import io.avance.core.callhome.CallHome;
import io.avance.core.config.OperationsConfig;
import io.avance.core.monitor.MonitorContext;
import io.avance.core.monitor.MonitorServer;
import io.avance.core.monitor.PairJson;
import io.avance.core.monitor.RecentEvents;
import io.avance.core.node.AvanceNode;
import io.avance.core.pair.PairStatus;
import io.avance.core.time.NanoClock;
import io.avance.core.vip.LinuxVirtualAddressDriver;
import io.avance.core.vip.VirtualAddressAgent;
import io.avance.core.vip.VirtualAddressDriver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The operations services of one node, from its configuration's {@code monitor.*},
 * {@code alert.*}, {@code callhome.*}, {@code bundle.*} and {@code vip.*} keys.
 *
 * <pre>{@code
 * AvanceNode node = AvanceNode.builder(config).meterRegistry(Operations.prometheusRegistry()).build();
 * node.start();
 * try (Operations operations = Operations.builder(node).configFile(path).start()) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Owns: the availability sampler, the monitor's server, the alert mailer, the call-home
 * sender, the virtual-address agent and the in-memory log buffer; {@link #close()} stops them
 * (before the node is closed, so the addresses are released while the node still knows its
 * role). The availability record and the recent-event list run always; every other service
 * only if configured. Thread-safe.
 */
public final class Operations implements AutoCloseable {

    private static final Logger LOG = System.getLogger(Operations.class.getName());
    private static final long SAMPLE_MILLIS = 200;

    private final AvanceNode node;
    private final NanoClock clock;
    private final Clock wallClock;
    private final Optional<Path> configFile;
    private final RecentEvents events = new RecentEvents(500);
    private final AvailabilityRecorder availability;
    private final LogBuffer logs;
    private final DiagnosticBundle bundle;
    private final ScheduledExecutorService sampler;
    private MonitorServer monitor;
    private AlertMailer alerts;
    private CallHome callHome;
    private VirtualAddressAgent addresses;
    /** The epoch and the reason of this node's latest promotion, as "EPOCH reason". */
    private volatile String lastRoleChange = "";
    private volatile boolean closed;
    /** Whether the node's last word on its peer was that it is silent on every path. */
    private volatile boolean peerSilent;

    private Operations(Builder builder) {
        this.node = builder.node;
        this.clock = builder.clock;
        this.wallClock = builder.wallClock;
        this.configFile = Optional.ofNullable(builder.configFile);
        this.availability = new AvailabilityRecorder(node.config().dataDirectory(), wallClock);
        this.logs = LogBuffer.install(5_000);
        this.bundle = new DiagnosticBundle(node, configFile, () -> PairJson.snapshot(context(), wallClock.instant()),
                this::eventLines, this::prometheusText, Optional.of(logs), wallClock);
        this.sampler = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("avance-availability-"
                + node.id().value(), true));
    }

    /**
     * A meter registry the monitor's {@code /metrics} endpoint can read: pass it to
     * {@link AvanceNode.Builder#meterRegistry}.
     *
     * @return a new Prometheus registry
     */
    public static PrometheusMeterRegistry prometheusRegistry() {
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /**
     * Starts describing the services of a started node.
     *
     * @param node the node (started)
     * @return a builder
     */
    public static Builder builder(AvanceNode node) {
        return new Builder(node);
    }

    private Operations start(Builder builder) {
        if (node.journal() == null) {
            throw new IllegalStateException("start the node before its operations services");
        }
        OperationsConfig config = node.config().operations();
        node.addListener(events);
        node.addListener(this::onEvent);
        sampler.scheduleWithFixedDelay(this::sample, 0, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
        try {
            if (config.monitor().isPresent()) {
                monitor = new MonitorServer(config.monitor().get(), context(), clock, wallClock);
                monitor.start();
            }
            if (config.alerts().isPresent()) {
                alerts = new AlertMailer(config.alerts().get(), node, clock, wallClock);
                node.addListener(alerts);
            }
            if (config.callHome().isPresent()) {
                callHome = new CallHome(config.callHome().get(), node, bundle::write, clock, wallClock);
                node.addListener(callHome);
            }
            if (!config.addresses().isEmpty()) {
                VirtualAddressDriver driver = builder.driver != null ? builder.driver : new LinuxVirtualAddressDriver();
                addresses = new VirtualAddressAgent(config.addresses(), driver, node, builder.reconcileMillis);
                node.addListener(addresses);
                addresses.start();
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        node.journal().record("system", "operations", "started: " + describe(), "done");
        return this;
    }

    private String describe() {
        List<String> parts = new ArrayList<>();
        if (monitor != null) {
            parts.add("monitor on port " + monitor.localAddress().getPort());
        }
        if (alerts != null) {
            parts.add("e-mail alerts");
        }
        if (callHome != null) {
            parts.add("call home");
        }
        if (addresses != null) {
            parts.add("virtual addresses");
        }
        parts.add("availability record");
        return String.join(", ", parts);
    }

    private void onEvent(PairEvent event) {
        if (event instanceof RoleChanged changed && changed.to() == PairRole.PRIMARY) {
            lastRoleChange = changed.epoch() + " " + changed.reason();
            // The outage, if one is open, ends now: look at once, not at the next sample.
            sampleSoon();
        } else if (event instanceof PeerChanged changed) {
            // The pair's own judgement of whether the peer is heard, in the order it was made:
            // a takeover can follow a peer's silence by less than the sampling interval, and a
            // sample between the two must not miss that no node served meanwhile.
            peerSilent = !changed.reachable();
            if (peerSilent) {
                sampleSoon();
            }
        }
    }

    private void sampleSoon() {
        try {
            sampler.execute(this::sample);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closed: nothing more to record.
        }
    }

    private void sample() {
        try {
            Observation observation = observe();
            availability.observe(observation.kind, observation.epoch, cause(observation)).ifPresent(outage -> {
                LOG.log(Level.WARNING, "{0}: outage of {1} ms recorded ({2})", node.id(), outage.duration().toMillis(),
                        outage.cause());
                node.journal().record("system", "outage", "from " + outage.start() + " to " + outage.end() + " ("
                        + outage.duration().toMillis() + " ms)", outage.cause());
            });
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "availability sample", e);
        }
    }

    private record Observation(AvailabilityRecorder.Observation kind, long epoch) {
    }

    /**
     * What ends an outage this observation may end: this node became primary in its epoch, with the
     * reason if the role change has been heard of yet (events arrive on another thread, and a sample
     * may see the node serve first).
     */
    private String cause(Observation observation) {
        String known = lastRoleChange;
        String prefix = observation.epoch + " ";
        String reason = known.startsWith(prefix) ? ": " + known.substring(prefix.length()) : "";
        return "node " + node.id() + " became primary in epoch " + observation.epoch + reason;
    }

    /** What this node sees of the pair's service now. */
    private Observation observe() {
        if (closed) {
            return new Observation(AvailabilityRecorder.Observation.UNKNOWN, -1);
        }
        Optional<PairStatus> found = node.status();
        if (found.isEmpty()) {
            return new Observation(AvailabilityRecorder.Observation.UNKNOWN, -1);
        }
        PairStatus status = found.get();
        if (node.mayServe()) {
            if (status.role() != PairRole.PRIMARY) {
                // The role changed a moment ago and its status is not published yet: the next
                // sample, a moment later, sees both, with the new epoch.
                return new Observation(AvailabilityRecorder.Observation.UNKNOWN, -1);
            }
            return new Observation(AvailabilityRecorder.Observation.SERVING, status.epoch());
        }
        if (status.role() == PairRole.ISOLATED || status.role() == PairRole.STOPPED) {
            // Cut off from the peer, this node cannot tell whether the pair serves.
            return new Observation(AvailabilityRecorder.Observation.UNKNOWN, -1);
        }
        Optional<NodeView> peer = status.peer();
        boolean heard = !peerSilent && status.paths().stream().anyMatch(PathStatus::peerAlive);
        if (peer.isPresent() && heard && peer.get().role() == PairRole.PRIMARY && peer.get().primaryOfItsEpoch()) {
            return new Observation(AvailabilityRecorder.Observation.PEER_SERVING, peer.get().epoch());
        }
        if (peer.isEmpty() && status.role() == PairRole.UNDECIDED && !node.config().standalone()) {
            // Just started and not yet heard the peer: it may well be serving.
            return new Observation(AvailabilityRecorder.Observation.UNKNOWN, -1);
        }
        return new Observation(AvailabilityRecorder.Observation.NOT_SERVING, -1);
    }

    private List<String> eventLines() {
        List<String> lines = new ArrayList<>();
        List<RecentEvents.Item> items = events.items();
        for (int i = items.size() - 1; i >= 0; i--) {
            RecentEvents.Item item = items.get(i);
            lines.add(item.time() + " " + item.described().level() + " " + item.described().kind() + " "
                    + item.described().text());
        }
        return lines;
    }

    private Optional<String> prometheusText() {
        return prometheus(node.meters()).map(PrometheusMeterRegistry::scrape);
    }

    private static Optional<PrometheusMeterRegistry> prometheus(MeterRegistry registry) {
        if (registry instanceof PrometheusMeterRegistry prometheus) {
            return Optional.of(prometheus);
        }
        if (registry instanceof CompositeMeterRegistry composite) {
            for (MeterRegistry inner : composite.getRegistries()) {
                Optional<PrometheusMeterRegistry> found = prometheus(inner);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    private MonitorContext context() {
        return new MonitorContext() {
            @Override
            public AvanceNode node() {
                return node;
            }

            @Override
            public AvailabilityRecorder availability() {
                return availability;
            }

            @Override
            public RecentEvents events() {
                return events;
            }

            @Override
            public void writeBundle(OutputStream out, String user) throws IOException {
                bundle.write(out);
                node.journal().record(user, "bundle", "downloaded from the monitor", "done");
            }

            @Override
            public Optional<String> prometheusText() {
                return Operations.this.prometheusText();
            }
        };
    }

    /**
     * Writes a diagnostic bundle to a file or into a directory (a USB stick).
     *
     * @param target a file, or a directory to write a named file into
     * @param actor  who asked, for the journal
     * @return the file written
     * @throws IOException if it cannot be written
     */
    public Path writeBundle(Path target, String actor) throws IOException {
        Path file = bundle.writeTo(target);
        node.journal().record(actor, "bundle", "written to " + file, "done");
        return file;
    }

    /** @return the node these services serve */
    public AvanceNode node() {
        return node;
    }

    /** @return the monitor, if configured */
    public Optional<MonitorServer> monitor() {
        return Optional.ofNullable(monitor);
    }

    /** @return call home, if configured */
    public Optional<CallHome> callHome() {
        return Optional.ofNullable(callHome);
    }

    /** @return the virtual-address agent, if addresses are configured */
    public Optional<VirtualAddressAgent> virtualAddresses() {
        return Optional.ofNullable(addresses);
    }

    /** @return the availability record */
    public AvailabilityRecorder availability() {
        return availability;
    }

    /** @return the recent events */
    public RecentEvents events() {
        return events;
    }

    /**
     * Stops every service; virtual addresses are released.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        sampler.shutdownNow();
        if (addresses != null) {
            addresses.close();
        }
        if (monitor != null) {
            monitor.close();
        }
        if (callHome != null) {
            callHome.close();
        }
        if (alerts != null) {
            alerts.close();
        }
        logs.close();
    }

    /**
     * Describes the services to start.
     */
    public static final class Builder {
        private final AvanceNode node;
        private NanoClock clock = NanoClock.system();
        private Clock wallClock = Clock.systemUTC();
        private Path configFile;
        private VirtualAddressDriver driver;
        private long reconcileMillis = 1_000;

        private Builder(AvanceNode node) {
            this.node = Objects.requireNonNull(node);
        }

        /**
         * @param clock     the monotonic clock (default: the system's)
         * @param wallClock the wall clock (default: UTC)
         * @return this
         */
        public Builder clocks(NanoClock clock, Clock wallClock) {
            this.clock = Objects.requireNonNull(clock);
            this.wallClock = Objects.requireNonNull(wallClock);
            return this;
        }

        /** @param file the configuration file, for the bundle (secrets are redacted) @return this */
        public Builder configFile(Path file) {
            this.configFile = Objects.requireNonNull(file);
            return this;
        }

        /**
         * @param driver   how virtual addresses are changed (default: Linux {@code ip} and {@code arping})
         * @param interval how often the agent reconciles (default: 1 s)
         * @return this
         */
        public Builder virtualAddresses(VirtualAddressDriver driver, java.time.Duration interval) {
            this.driver = Objects.requireNonNull(driver);
            this.reconcileMillis = Math.max(10, interval.toMillis());
            return this;
        }

        /**
         * Starts the configured services.
         *
         * @return the running services
         * @throws IllegalStateException if the node is not started
         */
        public Operations start() {
            return new Operations(this).start(this);
        }
    }
}
