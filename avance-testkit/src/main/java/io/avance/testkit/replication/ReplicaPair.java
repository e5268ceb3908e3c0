package io.avance.testkit.replication;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.core.link.LinkListener;
import io.avance.core.link.PairingKey;
import io.avance.core.link.PrivateLink;
import io.avance.core.replication.VolumeManager;
import io.avance.core.storage.BlockStoreFactory;
import io.avance.core.time.NanoClock;
import io.avance.core.wire.Message;
import io.avance.testkit.tools.LoopbackAddresses;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Two nodes' volume managers, {@code a} and {@code b}, joined by a real private link on loopback.
 * The test decides the roles ({@link Side#setPrimary}) and when the link is up
 * ({@link #connect()}, {@link #disconnect()}); everything else is the production code.
 *
 * <p>Conditions are awaited with {@link #await}: the condition is checked again whenever either
 * side publishes an event (a replication state change, resync progress), never by sleeping.
 */
public final class ReplicaPair implements AutoCloseable {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Object signal = new Object();
    private final byte[] secret = new byte[32];
    private final Side a;
    private final Side b;

    /**
     * Creates both sides, not yet connected.
     *
     * @param directory  where each side keeps its volumes ({@code a/}, {@code b/})
     * @param storesA    opens side a's stores
     * @param storesB    opens side b's stores
     * @param resyncRate the resync limit in bytes per second, 0 for none
     * @throws IOException if a side's directory cannot be made
     */
    public ReplicaPair(Path directory, BlockStoreFactory storesA, BlockStoreFactory storesB, long resyncRate)
            throws IOException {
        RANDOM.nextBytes(secret);
        // Each side listens on a loopback address of its own, the same for every connect().
        InetSocketAddress addressA = LoopbackAddresses.next(LoopbackAddresses.PRIVATE_PORT);
        InetSocketAddress addressB = LoopbackAddresses.next(LoopbackAddresses.PRIVATE_PORT);
        this.a = new Side("a", "b", addressA, addressB, directory.resolve("a"), storesA, resyncRate);
        this.b = new Side("b", "a", addressB, addressA, directory.resolve("b"), storesB, resyncRate);
    }

    /**
     * Creates both sides on plain files, with no resync limit.
     *
     * @param directory where each side keeps its volumes
     * @throws IOException if a side's directory cannot be made
     */
    public ReplicaPair(Path directory) throws IOException {
        this(directory, BlockStoreFactory.files(), BlockStoreFactory.files(), 0);
    }

    /** @return side a (the dialer) */
    public Side a() {
        return a;
    }

    /** @return side b */
    public Side b() {
        return b;
    }

    /** Opens the private link (both sides listen; a dials). */
    public void connect() {
        b.connect();
        a.connect();
    }

    /** Closes the private link on both sides, as a cable pulled out would. */
    public void disconnect() {
        a.disconnect();
        b.disconnect();
    }

    /**
     * Waits until a condition holds, re-checking it on every event from either side.
     *
     * @param condition what must become true
     * @param limit     how long to wait at most
     * @param failure   what to report if it does not
     * @throws InterruptedException if interrupted
     * @throws AssertionError       if the condition does not hold in time
     */
    public void await(BooleanSupplier condition, Duration limit, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        synchronized (signal) {
            while (!condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(failure.get());
                }
                // Events wake this; the bounded wait only covers conditions no event announces.
                signal.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            }
        }
    }

    @Override
    public void close() {
        a.close();
        b.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /**
     * One node's volumes and its end of the link.
     */
    public final class Side implements VolumeManager.Node, AutoCloseable {
        private final NodeId id;
        private final NodeId peerId;
        private final InetSocketAddress address;
        private final InetSocketAddress peerAddress;
        private final Path directory;
        private final BlockStoreFactory stores;
        private final long resyncRate;
        private VolumeManager manager;
        private final List<PairEvent> events = new ArrayList<>();
        private final List<String> diskFailures = new ArrayList<>();
        private volatile boolean primary;
        private volatile boolean paired = true;
        private volatile Supplier<CompletableFuture<Void>> fence = () -> CompletableFuture.completedFuture(null);
        private volatile int fenceRequests;
        private volatile long ackTimeoutNanos = TimeUnit.SECONDS.toNanos(30);
        private PrivateLink link;

        Side(String id, String peer, InetSocketAddress address, InetSocketAddress peerAddress, Path directory,
             BlockStoreFactory stores,
             long resyncRate) {
            this.id = NodeId.of(id);
            this.peerId = NodeId.of(peer);
            this.address = address;
            this.peerAddress = peerAddress;
            this.directory = directory;
            this.stores = stores;
            this.resyncRate = resyncRate;
            this.manager = newManager();
        }

        private VolumeManager newManager() {
            return new VolumeManager(this, directory, stores, resyncRate, NanoClock.system(), Clock.systemUTC(),
                    new SimpleMeterRegistry());
        }

        /** @return where this side keeps its volumes (the data of volume NAME is in {@code NAME.img}) */
        public Path directory() {
            return directory;
        }

        /**
         * Stops this side cleanly and starts it again on the same directory, as a node restart
         * does: the link goes down, the volumes close and are opened again from their files.
         *
         * @param volumes the specs to open again
         */
        public void restart(List<io.avance.api.replication.VolumeSpec> volumes) {
            boolean wasConnected = link != null;
            disconnect();
            manager.close();
            manager = newManager();
            for (io.avance.api.replication.VolumeSpec spec : volumes) {
                manager.open(spec, java.util.Optional.empty());
            }
            if (wasConnected) {
                connect();
            }
        }

        /**
         * Sets how long a replicated write may wait for the peer before the data session is
         * dropped (for volumes opened after this call).
         *
         * @param timeout the timeout
         */
        public void ackTimeout(Duration timeout) {
            this.ackTimeoutNanos = timeout.toNanos();
        }

        @Override
        public long replicationAckTimeoutNanos() {
            return ackTimeoutNanos;
        }

        /** @return the side's volume manager */
        public VolumeManager volumes() {
            return manager;
        }

        /**
         * Makes this side primary or not, and tells its volumes.
         *
         * @param primary the new role
         */
        public void setPrimary(boolean primary) {
            this.primary = primary;
            manager.roleChanged();
        }

        /**
         * Makes this side a node without a peer (a standalone node) or a paired one.
         *
         * @param paired false for standalone; set before opening volumes
         */
        public void setPaired(boolean paired) {
            this.paired = paired;
        }

        /**
         * Sets what the node's degraded fence answers (default: at once).
         *
         * @param answer makes a fresh answer for each request
         */
        public void answerDegradedFence(Supplier<CompletableFuture<Void>> answer) {
            this.fence = answer;
        }

        /** @return how many times a volume asked the node to announce it writes without the peer */
        public int fenceRequests() {
            return fenceRequests;
        }

        /** @return every event this side published, oldest first */
        public List<PairEvent> events() {
            synchronized (signal) {
                return List.copyOf(events);
            }
        }

        /** @return the disk failures the volumes reported */
        public List<String> diskFailures() {
            synchronized (signal) {
                return List.copyOf(diskFailures);
            }
        }

        void connect() {
            if (link != null) {
                return;
            }
            PrivateLink opened = new PrivateLink(id, peerId, address, peerAddress, new PairingKey(secret),
                    RANDOM.nextLong() | 1,
                    TimeUnit.SECONDS.toNanos(2), TimeUnit.MILLISECONDS.toNanos(50), 16 << 20, group,
                    new LinkListener() {
                        @Override
                        public void onSessionUp(long peerIncarnation) {
                        }

                        @Override
                        public void onSessionDown(String reason) {
                        }

                        @Override
                        public void onMessage(Message message) {
                        }
                    }, manager);
            manager.attach(VolumeManager.DataSender.over(opened));
            opened.start();
            link = opened;
        }

        void disconnect() {
            if (link != null) {
                link.close();
                link = null;
            }
        }

        @Override
        public NodeId id() {
            return id;
        }

        @Override
        public boolean mayServe() {
            return primary;
        }

        @Override
        public boolean primary() {
            return primary;
        }

        @Override
        public boolean paired() {
            return paired;
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            fenceRequests++;
            return fence.get();
        }

        @Override
        public void diskFailed(String volume, String cause) {
            synchronized (signal) {
                diskFailures.add(volume + ": " + cause);
                signal.notifyAll();
            }
        }

        @Override
        public void publish(PairEvent event) {
            synchronized (signal) {
                events.add(event);
                signal.notifyAll();
            }
        }

        @Override
        public void audit(String action, String detail, String outcome) {
        }

        @Override
        public void close() {
            disconnect();
            manager.close();
        }
    }
}
