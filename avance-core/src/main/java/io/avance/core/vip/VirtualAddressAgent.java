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
 * <p>Each address moves through the {@link AddressState} machine: {@code RELEASED}, {@code HELD}
 * (the serving primary), {@code RETURNING} (a primary that lost the network, rule 4) and
 * {@code FORWARDING} (the backup that carries the address for it). Every move goes through
 * {@link #transition}, which rejects illegal moves, runs the driver, logs, counts
 * ({@code avance.vip.transitions{node,network,to}}) and journals.
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
    private final Map<String, AddressState> states = new HashMap<>();
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

    /** What each address should be now, from the node's role and the paths' state. */
    private AddressState wanted(OperationsConfig.VirtualAddress address, boolean serves, Optional<PairStatus> status) {
        boolean privateAlive = status.map(s -> s.paths().stream().anyMatch(p -> p.kind() == PathStatus.Kind.PRIVATE
                && p.peerAlive())).orElse(false);
        Optional<PathStatus> path = status.flatMap(s -> s.paths().stream()
                .filter(p -> p.name().equals(address.network())).findFirst());
        // Rule 4: the primary lost this network, the backup still has it, and the private network carries
        // the traffic between them until the graceful failover moves the role.
        boolean bridgeable = address.forwardVia().isPresent() && path.isPresent() && privateAlive;
        if (serves) {
            return bridgeable && !path.get().localUp() && path.get().peerLocalUp() ? AddressState.RETURNING
                    : AddressState.HELD;
        }
        boolean peerPrimary = status.flatMap(PairStatus::peer).map(p -> p.role() == PairRole.PRIMARY
                && p.primaryOfItsEpoch()).orElse(false);
        return bridgeable && peerPrimary && path.get().localUp() && !path.get().peerLocalUp()
                ? AddressState.FORWARDING : AddressState.RELEASED;
    }

    private void reconcile() {
        if (closed) {
            return;
        }
        boolean serves = serving.getAsBoolean();
        Optional<PairStatus> status = node.status();
        for (OperationsConfig.VirtualAddress address : addresses) {
            try {
                AddressState want = wanted(address, serves, status);
                AddressState now = states.getOrDefault(address.network(), AddressState.RELEASED);
                boolean onInterface = driver.holds(address.interfaceName(), address.address());
                if (now == AddressState.RELEASED && onInterface && want == AddressState.RELEASED) {
                    // Left over from a crash, or added by hand: not this node's to hold.
                    driver.remove(address.interfaceName(), address.address());
                    record(address, "release virtual address", "removed a stale copy");
                } else if ((now == AddressState.HELD || now == AddressState.RETURNING) && !onInterface) {
                    // Removed by hand: put it back and tell the network again.
                    driver.add(address.interfaceName(), address.address());
                    driver.announce(address.interfaceName(), address.ip());
                    record(address, "take virtual address", "held again (it had been removed)");
                }
                if (want != now && !now.canMoveTo(want)) {
                    // No direct edge (FORWARDING to RETURNING, for one): pass through HELD or RELEASED.
                    AddressState via = now.canMoveTo(AddressState.HELD) && AddressState.HELD.canMoveTo(want)
                            ? AddressState.HELD : AddressState.RELEASED;
                    transition(address, via, "on the way to " + want);
                    now = via;
                }
                if (want != now) {
                    transition(address, want, serves ? "this node serves" : "this node does not serve");
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "virtual address " + address.address() + " on " + address.interfaceName()
                        + ": " + e.getMessage());
                record(address, "virtual address", "failed: " + e.getMessage());
            }
        }
    }

    /**
     * Moves one address to another state: undoes what the old state set up, sets up the new one,
     * and records the move.
     *
     * @throws IllegalStateException for a move the table does not allow
     */
    private void transition(OperationsConfig.VirtualAddress address, AddressState next, String reason)
            throws IOException {
        AddressState from = states.getOrDefault(address.network(), AddressState.RELEASED);
        if (!from.canMoveTo(next)) {
            throw new IllegalStateException("virtual address " + address.address() + ": " + from + " -> " + next
                    + " is not a legal move");
        }
        String via = address.forwardVia().orElse("");
        switch (from) {
            case FORWARDING -> driver.stopForwarding(address.interfaceName(), address.ip(), via);
            case RETURNING -> driver.stopReturning(address.ip(), address.networkHalves(), via);
            case HELD -> {
                if (next == AddressState.RELEASED) {
                    driver.remove(address.interfaceName(), address.address());
                }
            }
            default -> {
            }
        }
        String outcome;
        switch (next) {
            case HELD -> {
                if (from != AddressState.RETURNING) {
                    driver.add(address.interfaceName(), address.address());
                    states.put(address.network(), next);
                    record(address, "take virtual address", "held (" + reason + ")");
                    driver.announce(address.interfaceName(), address.ip());
                    outcome = "held and announced by gratuitous ARP";
                } else {
                    outcome = "the network is back; replies go out directly again";
                }
            }
            case RETURNING -> {
                driver.returnThrough(address.ip(), address.networkHalves(), via);
                outcome = "this node lost " + address.network() + "; replies go over the private network to " + via;
            }
            case FORWARDING -> {
                driver.forward(address.interfaceName(), address.ip(), via);
                outcome = "the primary lost " + address.network() + "; this node answers for " + address.ip()
                        + " and forwards to " + via;
            }
            default -> {
                if (from == AddressState.RETURNING) {
                    driver.remove(address.interfaceName(), address.address());
                }
                outcome = "released (" + reason + ")";
            }
        }
        states.put(address.network(), next);
        node.meters().counter("avance.vip.transitions", "node", node.id().value(), "network", address.network(),
                "to", next.name().toLowerCase(java.util.Locale.ROOT)).increment();
        record(address, "virtual address " + from.name().toLowerCase(java.util.Locale.ROOT) + " -> "
                + next.name().toLowerCase(java.util.Locale.ROOT), outcome);
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
            return executor.submit(() -> states.get(network) == AddressState.FORWARDING).get(10, TimeUnit.SECONDS);
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
            return executor.submit(() -> states.get(network) == AddressState.HELD
                    || states.get(network) == AddressState.RETURNING).get(10, TimeUnit.SECONDS);
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
                            AddressState now = states.getOrDefault(address.network(), AddressState.RELEASED);
                            if (now == AddressState.FORWARDING || now == AddressState.RETURNING
                                    || now == AddressState.HELD) {
                                transition(address, AddressState.RELEASED, "node stopping");
                            }
                            driver.remove(address.interfaceName(), address.address());
                        } catch (IOException | RuntimeException e) {
                            LOG.log(Level.WARNING, "cannot release " + address.address(), e);
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
