package io.avance.testkit.tools;

import io.avance.api.PairRole;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.PublicPath;
import io.avance.core.node.AvanceNode;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Two nodes, {@code a} and {@code b}, in this process on loopback: real private link, real
 * heartbeats over one public network, real files. For tests that need a pair but not separate
 * processes; {@link io.avance.testkit.process.LoopbackPair} makes the configuration files for those.
 *
 * <pre>{@code
 * try (InProcessPair pair = InProcessPair.in(directory)
 *         .configure((id, config) -> config.volume(...))
 *         .build(config -> AvanceNode.builder(config).hypervisor(new SimulatedHypervisor(...)))) {
 *     AvanceNode primary = pair.awaitPaired(Duration.ofSeconds(30));
 *     ...
 * }
 * }</pre>
 *
 * <p>Not thread-safe while building; the nodes themselves are.
 */
public final class InProcessPair implements AutoCloseable {

    private final Path directory;
    private final byte[] secret = new byte[32];
    /** Each node's own loopback address: the same ports across restarts, that nothing else can take. */
    private final InetAddress[] hosts = {LoopbackAddresses.next(), LoopbackAddresses.next()};
    private BiConsumer<String, NodeConfig.Builder> configure = (id, builder) -> { };
    private final EventWaiter events = new EventWaiter();
    private AvanceNode a;
    private AvanceNode b;
    private Function<NodeConfig, AvanceNode.Builder> builders;

    private InProcessPair(Path directory) {
        this.directory = directory;
        new SecureRandom().nextBytes(secret);
    }

    /**
     * Chooses addresses and a secret for a pair whose data directories go under a directory.
     *
     * @param directory the parent of {@code a/} and {@code b/}
     * @return the pair, not started
     */
    public static InProcessPair in(Path directory) {
        return new InProcessPair(directory);
    }

    /**
     * Adds to each node's configuration.
     *
     * @param extra called with the node's id ("a" or "b") and its builder
     * @return this
     */
    public InProcessPair configure(BiConsumer<String, NodeConfig.Builder> extra) {
        BiConsumer<String, NodeConfig.Builder> before = this.configure;
        this.configure = before.andThen(extra);
        return this;
    }

    /**
     * Builds and starts both nodes.
     *
     * @param builder makes each node's builder from its configuration (to add a hypervisor, listeners)
     * @return this
     */
    public InProcessPair start(Function<NodeConfig, AvanceNode.Builder> builder) {
        this.builders = builder;
        a = startNode("a");
        b = startNode("b");
        return this;
    }

    /**
     * Builds the configuration of one node.
     *
     * @param id "a" or "b"
     * @return its configuration
     */
    public NodeConfig config(String id) {
        int self = id.equals("a") ? 0 : 1;
        int peer = 1 - self;
        NodeConfig.Builder builder = NodeConfig.builder(id)
                .dataDirectory(directory.resolve(id))
                .peer(id.equals("a") ? "b" : "a", new InetSocketAddress(hosts[peer], LoopbackAddresses.PRIVATE_PORT))
                .privateListen(new InetSocketAddress(hosts[self], LoopbackAddresses.PRIVATE_PORT))
                .publicPath(new PublicPath("lan", new InetSocketAddress(hosts[self], LoopbackAddresses.PUBLIC_PORT),
                        new InetSocketAddress(hosts[peer], LoopbackAddresses.PUBLIC_PORT), Optional.empty()))
                .pairingSecret(secret);
        configure.accept(id, builder);
        return builder.build();
    }

    private AvanceNode startNode(String id) {
        AvanceNode node = builders.apply(config(id)).listener(events).build();
        node.start();
        return node;
    }

    /**
     * Starts a node again on its data directory (after {@link #stop}).
     *
     * @param id "a" or "b"
     * @return the new node
     */
    public AvanceNode restart(String id) {
        AvanceNode node = startNode(id);
        if (id.equals("a")) {
            a = node;
        } else {
            b = node;
        }
        return node;
    }

    /**
     * Stops one node (a clean stop; for a crash, run nodes as processes and kill them).
     *
     * @param id "a" or "b"
     */
    public void stop(String id) {
        node(id).close();
    }

    /** @return node a */
    public AvanceNode a() {
        return a;
    }

    /** @return node b */
    public AvanceNode b() {
        return b;
    }

    /**
     * A node by id.
     *
     * @param id "a" or "b"
     * @return the node
     */
    public AvanceNode node(String id) {
        return id.equals("a") ? a : b;
    }

    /**
     * The other node.
     *
     * @param node one of the two
     * @return the other
     */
    public AvanceNode other(AvanceNode node) {
        return node == a ? b : a;
    }

    /** @return the waiter that both nodes' events wake */
    public EventWaiter events() {
        return events;
    }

    /**
     * Waits until one node is primary and the other backup.
     *
     * @param limit the longest wait
     * @return the primary
     * @throws InterruptedException if interrupted
     */
    public AvanceNode awaitPaired(Duration limit) throws InterruptedException {
        events.await(() -> (a.role() == PairRole.PRIMARY && b.role() == PairRole.BACKUP)
                || (b.role() == PairRole.PRIMARY && a.role() == PairRole.BACKUP), limit,
                () -> "the pair never formed: a " + a.role() + ", b " + b.role());
        return a.role() == PairRole.PRIMARY ? a : b;
    }

    @Override
    public void close() {
        if (b != null) {
            b.close();
        }
        if (a != null) {
            a.close();
        }
    }

    /**
     * The pair's secret, for a witness or a tool that must prove it holds it.
     *
     * @return a copy of the 32 bytes
     */
    public byte[] pairingSecret() {
        return secret.clone();
    }

    /**
     * A node's own loopback address, where it listens for the private link and heartbeats, and
     * where a test may put its other servers (the monitor, NBD) on their fixed ports.
     *
     * @param id "a" or "b"
     * @return its address
     */
    public InetAddress host(String id) {
        return hosts[id.equals("a") ? 0 : 1];
    }
}
