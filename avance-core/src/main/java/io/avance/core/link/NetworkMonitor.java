package io.avance.core.link;

import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.PublicPath;
import io.avance.core.health.FaultRegistry;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * This node's own view of each public network, as critical {@code PUBLIC_NETWORK} faults in its
 * fault registry.
 *
 * <p>Two signals, for networks that have them:
 * <ul>
 *   <li>a <em>probe</em> ({@code public.NAME.probe}): a TCP connection to an address on the
 *       network (a gateway, a switch). Any answer, a refusal included, shows the network works;
 *       two timeouts or "unreachable" in a row mark it down;</li>
 *   <li>heartbeat <em>sends</em>: a send the operating system refuses (no route, network down)
 *       marks the network down until a send succeeds.</li>
 * </ul>
 * The monitor clears only faults it raised itself, never one an embedding program reported.
 * The isolation rule depends on this view being current: a probe interval plus timeout must stay
 * well under the detection minimum. Thread-safe.
 */
public final class NetworkMonitor implements AutoCloseable {

    private static final Logger LOG = System.getLogger(NetworkMonitor.class.getName());
    private static final int FAILURES_BEFORE_DOWN = 2;

    private final FaultRegistry faults;
    private final ScheduledExecutorService probes;
    private final Map<String, Fault> raised = new ConcurrentHashMap<>();
    private final Map<String, Integer> probeFailures = new ConcurrentHashMap<>();
    private final Map<String, Boolean> sendFailing = new ConcurrentHashMap<>();
    private final int timeoutMillis;

    /**
     * Starts probing every network that has a probe address.
     *
     * @param paths         the public networks
     * @param faults        where faults go
     * @param intervalNanos how often to probe
     * @param timeoutNanos  how long a probe may take
     * @param nodeName      for the thread's name
     */
    public NetworkMonitor(List<PublicPath> paths, FaultRegistry faults, long intervalNanos, long timeoutNanos,
                          String nodeName) {
        this.faults = Objects.requireNonNull(faults);
        this.timeoutMillis = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        this.probes = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "avance-network-monitor-" + nodeName);
            thread.setDaemon(true);
            return thread;
        });
        for (PublicPath path : paths) {
            path.probe().ifPresent(address -> probes.scheduleWithFixedDelay(() -> probe(path.name(), address), 0,
                    intervalNanos, TimeUnit.NANOSECONDS));
        }
    }

    /**
     * A heartbeat send on a network failed.
     *
     * @param network the network
     * @param error   what the operating system said
     */
    public void sendFailed(String network, String error) {
        sendFailing.put(network, true);
        raise(network, "cannot send on this network: " + error);
    }

    /**
     * A heartbeat send on a network succeeded.
     *
     * @param network the network
     */
    public void sendSucceeded(String network) {
        if (sendFailing.remove(network) != null && probeFailures.getOrDefault(network, 0) < FAILURES_BEFORE_DOWN) {
            clear(network);
        }
    }

    private void probe(String network, InetSocketAddress address) {
        String failure = null;
        try (Socket socket = new Socket()) {
            socket.connect(PrivateLink.resolve(address), timeoutMillis);
        } catch (ConnectException refused) {
            // A refusal comes back over the network: the network works.
            if (refused.getMessage() == null || !refused.getMessage().contains("refused")) {
                failure = refused.getMessage();
            }
        } catch (IOException | IllegalArgumentException | SecurityException e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        if (failure == null) {
            probeFailures.remove(network);
            if (!sendFailing.containsKey(network)) {
                clear(network);
            }
            return;
        }
        int failures = probeFailures.merge(network, 1, Integer::sum);
        if (failures >= FAILURES_BEFORE_DOWN) {
            raise(network, "probe of " + address + " fails: " + failure);
        }
    }

    private void raise(String network, String description) {
        Fault fault = Fault.of(Component.PUBLIC_NETWORK, network, Severity.CRITICAL,
                description.length() > Fault.MAX_DESCRIPTION_LENGTH
                        ? description.substring(0, Fault.MAX_DESCRIPTION_LENGTH) : description);
        if (raised.containsKey(network)) {
            return;
        }
        boolean reportedByOthers = faults.activeFaults().stream().anyMatch(active -> !active.derived()
                && active.fault().component() == Component.PUBLIC_NETWORK
                && active.fault().location().equals(network) && !active.fault().predicted());
        if (reportedByOthers) {
            // Already known down, from another source; replacing its fault would let this monitor
            // clear it later.
            return;
        }
        raised.put(network, fault);
        LOG.log(Level.WARNING, "public network {0} is down for this node: {1}", network, description);
        faults.raise(fault);
    }

    private void clear(String network) {
        Fault ours = raised.remove(network);
        if (ours == null) {
            return;
        }
        boolean stillOurs = faults.activeFaults().stream()
                .anyMatch(active -> !active.derived() && active.fault().equals(ours));
        if (stillOurs) {
            LOG.log(Level.INFO, "public network {0} works again for this node", network);
            faults.clear(Component.PUBLIC_NETWORK, network);
        }
    }

    @Override
    public void close() {
        probes.shutdownNow();
    }
}
