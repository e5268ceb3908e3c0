package io.avance.core.vip;

import io.avance.api.PairRole;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PairListener;
import io.avance.api.event.RoleChanged;
import io.avance.api.failover.PathStatus;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.node.AvanceNode;
import io.avance.core.pair.PairStatus;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Keeps each public network's virtual address on the serving primary and off every other node.
 *
 * <p>Per address:
 *
 * <pre>
 *   RELEASED --node may serve--&gt; HELD (added, then announced by gratuitous ARP)
 *   HELD --node stops serving (role change, lost lease, isolation, stop)--&gt; RELEASED (removed)
 *
 *   with vip.NETWORK.forward-via (rule 4), while the primary has lost the network and the backup has not:
 *   backup:  RELEASED --&gt; FORWARDING (proxy ARP and a route to the primary over the private network)
 *   primary: HELD --&gt; HELD + RETURNING (the address also on lo, replies routed through the backup)
 *   both end when the network comes back or the graceful failover moves the role
 * </pre>
 *
 * <p>The agent acts on every role change at once and also reconciles every
 * {@code intervalMillis} against {@link AvanceNode#mayServe()}, so a missed event, an address
 * removed by hand or a lease that ran out without a role change are corrected within an
 * interval. A node that crashes cannot remove its address; the peer's takeover announces the
 * address from the new primary, which moves the traffic, and the crashed node's
 * {@link #start} removes a stale address when it comes back as backup. Each change is
 * journaled. Thread-safe; one thread does all the work, in order.
 */
public final class VirtualAddressAgent implements PairListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(VirtualAddressAgent.class.getName());

    private final List<OperationsConfig.VirtualAddress> addresses;
    private final VirtualAddressDriver driver;
    private final AvanceNode node;
    private final BooleanSupplier serving;
    private final ScheduledExecutorService executor;
    private final long intervalMillis;
    private final Map<String, Boolean> held = new HashMap<>();
    private final Map<String, Boolean> forwarding = new HashMap<>();
    private final Map<String, Boolean> returning = new HashMap<>();
    private volatile boolean closed;

    /**
     * Creates the agent; it does nothing until {@link #start()}.
     *
     * @param addresses      the virtual addresses
     * @param driver         how to change addresses
     * @param node           whose role they follow
     * @param intervalMillis how often to reconcile
     */
    public VirtualAddressAgent(List<OperationsConfig.VirtualAddress> addresses, VirtualAddressDriver driver,
                               AvanceNode node, long intervalMillis) {
        this.addresses = List.copyOf(addresses);
        this.driver = Objects.requireNonNull(driver);
        this.node = Objects.requireNonNull(node);
        this.serving = node::mayServe;
        this.intervalMillis = intervalMillis;
        this.executor = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("avance-vip-"
                + node.id().value(), true));
    }

    /** Reconciles at once, then periodically. */
    public void start() {
        executor.scheduleWithFixedDelay(this::reconcile, 0, intervalMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void onEvent(PairEvent event) {
        if ((event instanceof RoleChanged || event instanceof io.avance.api.event.PathChanged
                || event instanceof io.avance.api.event.FaultRaised || event instanceof io.avance.api.event.FaultCleared)
                && !closed) {
            executor.execute(this::reconcile);
        }
    }

    private void reconcile() {
        if (closed) {
            return;
        }
        boolean want = serving.getAsBoolean();
        Optional<PairStatus> status = node.status();
        boolean privateAlive = status.map(s -> s.paths().stream().anyMatch(p -> p.kind() == PathStatus.Kind.PRIVATE
                && p.peerAlive())).orElse(false);
        boolean peerPrimary = status.flatMap(PairStatus::peer).map(p -> p.role() == PairRole.PRIMARY
                && p.primaryOfItsEpoch()).orElse(false);
        for (OperationsConfig.VirtualAddress address : addresses) {
            Optional<PathStatus> path = status.flatMap(s -> s.paths().stream()
                    .filter(p -> p.name().equals(address.network())).findFirst());
            // Rule 4: the primary lost this network, the backup still has it, and the private link carries
            // the traffic between them until the graceful failover moves the role.
            boolean bridgeable = address.forwardVia().isPresent() && path.isPresent() && privateAlive;
            boolean wantReturn = want && bridgeable && !path.get().localUp() && path.get().peerLocalUp();
            boolean wantForward = !want && bridgeable && peerPrimary && path.get().localUp()
                    && !path.get().peerLocalUp();
            String network = address.network();
            try {
                if (!wantForward && forwarding.getOrDefault(network, false)) {
                    driver.stopForwarding(address.interfaceName(), address.ip(), address.forwardVia().get());
                    forwarding.put(network, false);
                    record(address, "stop forwarding virtual address", "done");
                }
                if (!wantReturn && returning.getOrDefault(network, false)) {
                    driver.stopReturning(address.ip(), address.networkHalves(), address.forwardVia().get());
                    returning.put(network, false);
                    record(address, "stop returning through the backup", "done");
                }
                boolean holds = driver.holds(address.interfaceName(), address.address());
                if (want && !holds) {
                    driver.add(address.interfaceName(), address.address());
                    record(address, "take virtual address", "held");
                    held.put(network, true);
                    driver.announce(address.interfaceName(), address.ip());
                    record(address, "announce virtual address", "gratuitous ARP sent");
                } else if (want && !Boolean.TRUE.equals(held.get(network))) {
                    // Held already (a restart while primary): announce anyway, the switches may not know.
                    driver.announce(address.interfaceName(), address.ip());
                    record(address, "take virtual address", "announced (already held)");
                } else if (!want && holds) {
                    driver.remove(address.interfaceName(), address.address());
                    record(address, "release virtual address", "removed");
                }
                held.put(network, want);
                if (wantReturn && !returning.getOrDefault(network, false)) {
                    driver.returnThrough(address.ip(), address.networkHalves(), address.forwardVia().get());
                    returning.put(network, true);
                    record(address, "return through the backup", "this node lost " + network
                            + "; replies go over the private network to " + address.forwardVia().get());
                }
                if (wantForward && !forwarding.getOrDefault(network, false)) {
                    driver.forward(address.interfaceName(), address.ip(), address.forwardVia().get());
                    forwarding.put(network, true);
                    record(address, "forward virtual address", "the primary lost " + network + "; this node answers "
                            + "for " + address.ip() + " and forwards to " + address.forwardVia().get());
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "virtual address " + address.address() + " on " + address.interfaceName()
                        + ": " + e.getMessage());
                record(address, want ? "take virtual address" : "release virtual address", "failed: " + e.getMessage());
            }
        }
    }

    /**
     * Tells whether this agent forwards a network's address to the primary (rule 4), as of its
     * last reconcile.
     *
     * @param network the public network
     * @return true while forwarding
     */
    public boolean forwards(String network) {
        try {
            return executor.submit(() -> forwarding.getOrDefault(network, false)).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return false;
        }
    }

    private void record(OperationsConfig.VirtualAddress address, String action, String outcome) {
        LOG.log(Level.INFO, "{0}: {1} {2} on {3}: {4}", node.id(), action, address.address(), address.interfaceName(),
                outcome);
        AuditJournal journal = node.journal();
        if (journal != null) {
            journal.record("system", action, address.network() + " " + address.address() + " on "
                    + address.interfaceName(), outcome);
        }
    }

    /**
     * Tells whether this agent holds a network's address, as of its last reconcile.
     *
     * @param network the public network
     * @return true if held
     */
    public boolean holds(String network) {
        try {
            return executor.submit(() -> Boolean.TRUE.equals(held.get(network))).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Stops reconciling. With {@code release}, removes every address first (a planned stop);
     * without, leaves them as they are (what a crash would do, for tests).
     *
     * @param release whether to remove the addresses
     */
    public synchronized void stop(boolean release) {
        if (closed) {
            return;
        }
        if (release) {
            try {
                executor.submit(() -> {
                    for (OperationsConfig.VirtualAddress address : addresses) {
                        try {
                            if (forwarding.getOrDefault(address.network(), false)) {
                                driver.stopForwarding(address.interfaceName(), address.ip(), address.forwardVia().get());
                            }
                            if (returning.getOrDefault(address.network(), false)) {
                                driver.stopReturning(address.ip(), address.networkHalves(), address.forwardVia().get());
                            }
                            driver.remove(address.interfaceName(), address.address());
                            record(address, "release virtual address", "removed (node stopping)");
                        } catch (IOException e) {
                            LOG.log(Level.WARNING, "cannot remove " + address.address(), e);
                        }
                    }
                }).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.log(Level.WARNING, "releasing virtual addresses", e);
            }
        }
        closed = true;
        executor.shutdownNow();
    }

    @Override
    public void close() {
        stop(true);
    }
}
