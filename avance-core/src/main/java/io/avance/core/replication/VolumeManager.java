package io.avance.core.replication;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.api.event.ResyncProgressed;
import io.avance.api.event.VolumeStateChanged;
import io.avance.api.replication.BlockReplicator;
import io.avance.api.replication.DataState;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.ResyncProgress;
import io.avance.api.replication.VerifyReport;
import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeException;
import io.avance.api.replication.VolumeSpec;
import io.avance.api.replication.VolumeStatus;
import io.avance.core.link.DataLinkListener;
import io.avance.core.storage.BlockStoreFactory;
import io.avance.core.time.NanoClock;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameType;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A node's volumes and their replication: the node's {@link BlockReplicator}.
 *
 * <p>Routes data-channel frames to volumes: by name for descriptions and plans, by the primary's
 * tag for everything else (frames toward the backup carry tags the backup learned from the plan;
 * frames toward the primary carry the primary's own tags). Thread-safe.
 */
public final class VolumeManager implements BlockReplicator, DataLinkListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(VolumeManager.class.getName());
    private static final Set<FrameType> TOWARD_BACKUP = EnumSet.of(FrameType.WRITE, FrameType.ZEROES, FrameType.FLUSH,
            FrameType.RESYNC_DATA, FrameType.RESYNC_DONE, FrameType.VERIFY_REQUEST, FrameType.READ_REQUEST);
    private static final Set<FrameType> TOWARD_PRIMARY = EnumSet.of(FrameType.BITMAP_WORDS, FrameType.ACK,
            FrameType.RESYNC_ACK, FrameType.VERIFY_DIGESTS, FrameType.READ_REPLY);

    /** What the manager needs from its node. */
    public interface Node {
        /** @return this node's id */
        NodeId id();

        /** @return whether this node may serve now */
        boolean mayServe();

        /** @return whether this node is the primary */
        boolean primary();

        /** @return whether the node has a peer */
        boolean paired();

        /** @return a future that completes once the peer can know this node writes without it */
        CompletableFuture<Void> announceDegraded();

        /** @param volume the volume @param cause why its disk failed */
        void diskFailed(String volume, String cause);

        /** @param event an event for listeners */
        void publish(PairEvent event);

        /** @param action what @param detail to what @param outcome how it went */
        void audit(String action, String detail, String outcome);

        /**
         * How long a replicated write may wait for the peer's acknowledgement before the data
         * session is dropped ({@code replication.ack-timeout}).
         *
         * @return nanoseconds; 30 s unless configured
         */
        default long replicationAckTimeoutNanos() {
            return ReplicatedVolume.ACK_TIMEOUT_NANOS;
        }
    }

    /** Sends whole frames to the peer's data channel. */
    public interface DataSender {
        /** @param frame ownership passes @return false if no session */
        boolean send(ByteBuf frame);

        /** @return the channel's allocator */
        ByteBufAllocator allocator();

        /** @return whether the channel can take more */
        boolean writable();

        /** @param reason why the session is dropped: the peer stopped acknowledging or broke the protocol */
        void reset(String reason);

        /**
         * The data channel of a private link.
         *
         * @param link the link
         * @return a sender over its data channel
         */
        static DataSender over(io.avance.core.link.PrivateLink link) {
            return new DataSender() {
                @Override
                public boolean send(ByteBuf frame) {
                    return link.sendData(frame);
                }

                @Override
                public ByteBufAllocator allocator() {
                    return link.dataAllocator();
                }

                @Override
                public boolean writable() {
                    return link.dataWritable();
                }

                @Override
                public void reset(String reason) {
                    link.resetData(reason);
                }
            };
        }
    }

    private final Node node;
    private final Path directory;
    private final BlockStoreFactory stores;
    private final NanoClock clock;
    private final Clock wallClock;
    private final MeterRegistry meters;
    private final long resyncRate;
    private final ExecutorService reads;
    private final Map<String, ReplicatedVolume> volumes = new ConcurrentHashMap<>();
    private final Map<Integer, ReplicatedVolume> ownTags = new ConcurrentHashMap<>();
    private final Map<Integer, ReplicatedVolume> peerTags = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> pendingDeletes = new ConcurrentHashMap<>();
    private final Map<String, List<Meter>> volumeMeters = new ConcurrentHashMap<>();
    /** Volumes named in the configuration file: they are not deleted at run time. */
    private final Set<String> configured = ConcurrentHashMap.newKeySet();
    /** Tags are never reused, so that a frame for a deleted volume never reaches another. */
    private final java.util.concurrent.atomic.AtomicInteger nextTag = new java.util.concurrent.atomic.AtomicInteger();
    private volatile DataSender sender;
    private volatile boolean sessionUp;

    /**
     * Creates the manager; volumes are opened with {@link #open(VolumeSpec, Optional)}.
     *
     * @param node       the node
     * @param directory  the node's volume directory
     * @param stores     opens volume stores
     * @param resyncRate resync limit in bytes per second, 0 for none
     * @param clock      the monotonic clock
     * @param wallClock  for event times
     * @param meters     for metrics
     */
    public VolumeManager(Node node, Path directory, BlockStoreFactory stores, long resyncRate, NanoClock clock,
                         Clock wallClock, MeterRegistry meters) {
        this.node = node;
        this.directory = directory;
        this.stores = stores;
        this.resyncRate = resyncRate;
        this.clock = clock;
        this.wallClock = wallClock;
        this.meters = meters;
        this.reads = Executors.newFixedThreadPool(4, new DefaultThreadFactory("avance-volume-reads", true));
    }

    /**
     * Opens (or creates) a volume on this node.
     *
     * @param spec the volume
     * @param path where its data lives (a file or block device); empty for a file in the volume directory
     * @return the volume
     * @throws UncheckedIOException if its files cannot be opened
     */
    public synchronized ReplicatedVolume open(VolumeSpec spec, Optional<Path> path) {
        ReplicatedVolume existing = volumes.get(spec.name());
        if (existing != null) {
            if (!existing.spec().equals(spec)) {
                throw new VolumeException(VolumeException.Reason.INVALID, "volume " + spec.name() + " exists as "
                        + existing.spec() + ", not " + spec);
            }
            return existing;
        }
        int tag = nextTag.incrementAndGet();
        try {
            java.nio.file.Files.createDirectories(directory);
            Path data = path.orElse(directory.resolve(spec.name() + ".img"));
            ReplicatedVolume volume = new ReplicatedVolume(spec, directory, stores.open(data, spec.sizeBytes()),
                    new VolumeHost(), reads, tag);
            volumes.put(spec.name(), volume);
            ownTags.put(tag, volume);
            bindMetrics(volume);
            DataSender current = sender;
            if (sessionUp && current != null) {
                volume.peerConnected(session(current));
            }
            LOG.log(Level.INFO, "{0}: volume {1} open ({2} bytes, {3})", node.id(), spec.name(), spec.sizeBytes(),
                    volume.state());
            return volume;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open volume " + spec.name(), e);
        }
    }

    private void bindMetrics(ReplicatedVolume volume) {
        String name = volume.name();
        List<Meter> bound = new ArrayList<>();
        bound.add(Gauge.builder("avance.volume.state", volume, v -> v.state().ordinal())
                .description("replication state: 0 standalone, 1 connected, 2 synced, 3 sync source, 4 sync target, "
                        + "5 degraded, 6 split brain")
                .tags("node", node.id().value(), "volume", name).register(meters));
        bound.add(Gauge.builder("avance.volume.dirty.bytes", volume, v -> v.status().dirtyBytes())
                .description("bytes marked as not yet on the peer").tags("node", node.id().value(), "volume", name)
                .register(meters));
        bound.add(Gauge.builder("avance.volume.resync.percent", volume,
                        v -> v.status().resync().map(ResyncProgress::percentDone).orElse(Double.NaN))
                .description("how far the running resync has come").tags("node", node.id().value(), "volume", name)
                .register(meters));
        bound.add(FunctionCounter.builder("avance.volume.resync.sent.bytes", volume, ReplicatedVolume::resyncBytesSent)
                .description("bytes this node sent as resync data").tags("node", node.id().value(), "volume", name)
                .register(meters));
        bound.add(FunctionCounter.builder("avance.volume.written.bytes", volume, ReplicatedVolume::bytesWritten)
                .description("bytes clients wrote through this node").tags("node", node.id().value(), "volume", name)
                .register(meters));
        volumeMeters.put(name, List.copyOf(bound));
    }

    /**
     * Marks a volume as named in the configuration file: it stays until the file no longer names it.
     *
     * @param name the volume
     */
    public void configured(String name) {
        configured.add(name);
    }

    /**
     * A volume by name.
     *
     * @param name the name
     * @return the volume, if open here
     */
    public Optional<ReplicatedVolume> volume(String name) {
        return Optional.ofNullable(volumes.get(name));
    }

    /** @return every volume, by name */
    public List<ReplicatedVolume> all() {
        return List.copyOf(new TreeMap<>(volumes).values());
    }

    // ------------------------------------------------------------------------------------------
    // The data channel

    /**
     * Sets how frames reach the peer (the current incarnation's private link).
     *
     * @param dataSender the sender, or null when there is no link
     */
    public void attach(DataSender dataSender) {
        this.sender = dataSender;
    }

    @Override
    public void onDataSessionUp() {
        DataSender current = sender;
        if (current == null) {
            return;
        }
        if (sessionUp) {
            // A new connection replaced the old one without a close being reported first: whatever
            // the old one carried unacknowledged must be treated as lost.
            onDataSessionDown();
        }
        sessionUp = true;
        peerTags.clear();
        for (ReplicatedVolume volume : all()) {
            volume.peerConnected(session(current));
        }
    }

    @Override
    public void onDataSessionDown() {
        sessionUp = false;
        for (ReplicatedVolume volume : all()) {
            volume.peerLost();
        }
    }

    @Override
    public void onDataFrame(Frame frame) {
        FrameType type = frame.type();
        ByteBuf payload = frame.payload();
        ReplicatedVolume volume;
        try {
            if (type == FrameType.VOLUME_DELETE || type == FrameType.VOLUME_DELETED) {
                try {
                    onDeleteFrame(type, payload);
                } finally {
                    frame.release();
                }
                return;
            }
            if (type == FrameType.VOLUME_HELLO || type == FrameType.SYNC_PLAN) {
                String name = peekName(payload);
                volume = volumes.get(name);
                if (volume == null && type == FrameType.VOLUME_HELLO) {
                    volume = createReplica(name, payload);
                }
                if (volume != null && type == FrameType.SYNC_PLAN) {
                    int nameLength = payload.getUnsignedByte(payload.readerIndex());
                    peerTags.put(payload.getInt(payload.readerIndex() + 1 + nameLength), volume);
                }
            } else if (TOWARD_BACKUP.contains(type)) {
                volume = payload.readableBytes() >= 4 ? peerTags.get(payload.getInt(payload.readerIndex())) : null;
            } else if (TOWARD_PRIMARY.contains(type)) {
                volume = payload.readableBytes() >= 4 ? ownTags.get(payload.getInt(payload.readerIndex())) : null;
            } else {
                frame.release();
                resetSession("unexpected " + type + " on the data channel");
                return;
            }
        } catch (RuntimeException e) {
            // A peer that breaks the data protocol cannot be trusted with the rest of the stream:
            // the session is dropped, and unacknowledged writes fall back to the dirty bitmap.
            LOG.log(Level.WARNING, "{0}: bad {1} on the data channel: {2}", node.id(), type, e.getMessage());
            frame.release();
            resetSession("bad " + type + ": " + e.getMessage());
            return;
        }
        if (volume == null) {
            frame.release();
            return;
        }
        volume.onFrame(type, payload);
    }

    // ------------------------------------------------------------------------------------------
    // Deleting a volume

    /**
     * Deletes a volume and its files on both nodes: the backup deletes its copy first, then this
     * node; a copy is never left behind for a resync to bring back. Only volumes this node created
     * (in its volume directory) can go: one named in the configuration file stays until the file
     * no longer names it. The volume must not be in use (no VM uses it; the caller checks).
     *
     * @param name the volume
     * @return completes when both copies are gone; fails with the reason (this node is not the
     *         primary, the backup is not connected, the backup could not delete its copy)
     */
    public CompletableFuture<Void> delete(String name) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ReplicatedVolume volume = volumes.get(name);
        if (volume == null) {
            done.completeExceptionally(new VolumeException(VolumeException.Reason.NO_SUCH_VOLUME, "no volume named "
                    + name + " on node " + node.id()));
            return done;
        }
        if (configured.contains(name)) {
            done.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "volume " + name
                    + " is named in the node's configuration file (volume." + name + ".*): remove it there"));
            return done;
        }
        if (!node.paired()) {
            deleteHere(name);
            done.complete(null);
            return done;
        }
        if (!node.primary()) {
            done.completeExceptionally(new VolumeException(VolumeException.Reason.NOT_SERVING,
                    "volumes are deleted on the primary"));
            return done;
        }
        DataSender current = sender;
        if (!sessionUp || current == null) {
            done.completeExceptionally(new VolumeException(VolumeException.Reason.NOT_SERVING, "the backup is not"
                    + " connected: its copy of " + name + " could not be deleted too; try again once it is"));
            return done;
        }
        CompletableFuture<Void> previous = pendingDeletes.putIfAbsent(name, done);
        if (previous != null) {
            return previous;
        }
        ByteBuf fields = DataCodec.fields(current.allocator());
        DataCodec.writeName(fields, name);
        if (!current.send(DataCodec.frame(current.allocator(), FrameType.VOLUME_DELETE, fields, null))) {
            pendingDeletes.remove(name, done);
            done.completeExceptionally(new VolumeException(VolumeException.Reason.NOT_SERVING,
                    "the data channel to the backup is down: " + name + " was not deleted"));
        }
        return done;
    }

    private void onDeleteFrame(FrameType type, ByteBuf payload) {
        String name = DataCodec.readName(payload);
        if (type == FrameType.VOLUME_DELETE) {
            // The primary deletes the volume: this copy goes first, then the primary's.
            String failure = "";
            try {
                if (volumes.containsKey(name)) {
                    deleteHere(name);
                }
            } catch (RuntimeException e) {
                failure = String.valueOf(e.getMessage());
            }
            DataSender current = sender;
            if (current != null) {
                ByteBuf fields = DataCodec.fields(current.allocator());
                DataCodec.writeName(fields, name);
                fields.writeBoolean(failure.isEmpty());
                byte[] text = failure.getBytes(StandardCharsets.UTF_8);
                int length = Math.min(text.length, 900);
                fields.writeShort(length).writeBytes(text, 0, length);
                current.send(DataCodec.frame(current.allocator(), FrameType.VOLUME_DELETED, fields, null));
            }
            return;
        }
        DataCodec.need(payload, 3, "deleted flag and reason length");
        boolean deleted = payload.readBoolean();
        int length = payload.readUnsignedShort();
        DataCodec.need(payload, length, "reason");
        String reason = payload.readCharSequence(length, StandardCharsets.UTF_8).toString();
        CompletableFuture<Void> done = pendingDeletes.remove(name);
        if (done == null) {
            return;
        }
        if (!deleted) {
            done.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "the backup could not"
                    + " delete its copy of " + name + ": " + reason));
            return;
        }
        try {
            deleteHere(name);
            done.complete(null);
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
    }

    /** Closes a volume and deletes its files here. */
    private synchronized void deleteHere(String name) {
        ReplicatedVolume volume = volumes.remove(name);
        if (volume == null) {
            return;
        }
        ownTags.values().remove(volume);
        peerTags.values().remove(volume);
        volume.close();
        for (Meter meter : volumeMeters.getOrDefault(name, List.of())) {
            meters.remove(meter);
        }
        volumeMeters.remove(name);
        for (String suffix : List.of(".img", ".meta", ".bitmap", ".al")) {
            try {
                java.nio.file.Files.deleteIfExists(directory.resolve(name + suffix));
            } catch (IOException e) {
                throw new UncheckedIOException("volume " + name + " was closed but its file " + name + suffix
                        + " could not be deleted", e);
            }
        }
        node.audit("volume-delete", name, "deleted on " + node.id());
        LOG.log(Level.INFO, "{0}: volume {1} deleted", node.id(), name);
    }

    private void resetSession(String reason) {
        DataSender current = sender;
        if (current != null) {
            current.reset(reason);
        }
    }

    @Override
    public void onDataWritable() {
        // Resyncs poll writability on their own schedule; nothing to wake.
    }

    private static String peekName(ByteBuf payload) {
        int length = payload.getUnsignedByte(payload.readerIndex());
        return payload.toString(payload.readerIndex() + 1, length, StandardCharsets.UTF_8);
    }

    /** The peer has a volume this node lacks: create the replica with the same geometry. */
    private ReplicatedVolume createReplica(String name, ByteBuf hello) {
        int nameLength = hello.getUnsignedByte(hello.readerIndex());
        long size = hello.getLong(hello.readerIndex() + 1 + nameLength);
        int blockSize = hello.getInt(hello.readerIndex() + 9 + nameLength);
        try {
            VolumeSpec spec = new VolumeSpec(name, size, blockSize);
            node.audit("volume-create", name + " (" + size + " bytes), a replica of the peer's", "creating");
            return open(spec, Optional.empty());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: cannot create a replica of volume {1}: {2}", node.id(), name, e.getMessage());
            return null;
        }
    }

    private ReplicatedVolume.PeerSession session(DataSender current) {
        return new ReplicatedVolume.PeerSession() {
            @Override
            public boolean send(ByteBuf frame) {
                return current.send(frame);
            }

            @Override
            public ByteBufAllocator allocator() {
                return current.allocator();
            }

            @Override
            public boolean writable() {
                return current.writable();
            }

            @Override
            public void reset(String reason) {
                current.reset(reason);
            }
        };
    }

    // ------------------------------------------------------------------------------------------
    // Node events

    /** The node's role changed: volumes plan again with the peer. */
    public void roleChanged() {
        for (ReplicatedVolume volume : all()) {
            volume.roleChanged();
        }
    }

    /**
     * The primary's newest heartbeat says whether it writes without this node; takes effect before
     * this returns.
     *
     * @param degraded the primary's flag
     */
    public void peerDegraded(boolean degraded) {
        for (ReplicatedVolume volume : volumes.values()) {
            volume.peerDegraded(degraded);
        }
    }

    /** The primary has been silent longer than a takeover could take; takes effect before this returns. */
    public void peerSilent() {
        for (ReplicatedVolume volume : volumes.values()) {
            volume.peerSilent();
        }
    }

    /** @return whether any volume here holds writes the peer lacks */
    public boolean degraded() {
        for (ReplicatedVolume volume : volumes.values()) {
            if (volume.holdsWritesThePeerLacks()) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // BlockReplicator

    @Override
    public Volume create(VolumeSpec spec) {
        if (volumes.containsKey(spec.name())) {
            throw new VolumeException(VolumeException.Reason.INVALID, "volume " + spec.name() + " exists");
        }
        if (node.paired() && !node.primary()) {
            throw new VolumeException(VolumeException.Reason.NOT_SERVING, "volumes are created on the primary");
        }
        ReplicatedVolume volume = open(spec, Optional.empty());
        node.audit("volume-create", spec.name() + " (" + spec.sizeBytes() + " bytes)", "created");
        return volume;
    }

    @Override
    public Volume open(String name) {
        return volume(name).orElseThrow(() -> new VolumeException(VolumeException.Reason.NO_SUCH_VOLUME,
                "no volume named " + name + " on node " + node.id()));
    }

    @Override
    public List<VolumeStatus> volumes() {
        List<VolumeStatus> list = new ArrayList<>();
        for (ReplicatedVolume volume : all()) {
            list.add(volume.status());
        }
        return list;
    }

    @Override
    public Optional<VolumeStatus> status(String name) {
        return volume(name).map(ReplicatedVolume::status);
    }

    @Override
    public DataState dataState() {
        DataState worst = DataState.UP_TO_DATE;
        for (ReplicatedVolume volume : volumes.values()) {
            worst = worst.worse(volume.dataState());
        }
        return worst;
    }

    @Override
    public CompletionStage<VerifyReport> verify(String name, boolean markForResync) {
        return ((ReplicatedVolume) open(name)).verify(markForResync);
    }

    @Override
    public void resolveSplitBrain(String name, NodeId discard) {
        ReplicatedVolume volume = (ReplicatedVolume) open(name);
        boolean discardLocal = discard.equals(node.id());
        try {
            volume.resolveSplitBrain(discardLocal).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof VolumeException volumeException) {
                throw volumeException;
            }
            throw new VolumeException(VolumeException.Reason.INVALID, e.getCause().getMessage(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new VolumeException(VolumeException.Reason.IO_ERROR, "the volume did not answer in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VolumeException(VolumeException.Reason.IO_ERROR, "interrupted", e);
        }
    }

    @Override
    public void close() {
        for (ReplicatedVolume volume : all()) {
            volume.close();
        }
        reads.shutdown();
    }

    private final class VolumeHost implements ReplicatedVolume.Host {
        @Override
        public boolean mayServe() {
            return node.mayServe();
        }

        @Override
        public boolean primary() {
            return node.primary();
        }

        @Override
        public boolean paired() {
            return node.paired();
        }

        @Override
        public long nanoTime() {
            return clock.nanoTime();
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            return node.announceDegraded();
        }

        @Override
        public void diskFailed(String volume, String cause) {
            node.diskFailed(volume, cause);
        }

        @Override
        public void stateChanged(String volume, ReplicationState from, ReplicationState to, String reason) {
            node.publish(new VolumeStateChanged(wallClock.instant(), node.id(), volume, from, to, reason));
            if (to == ReplicationState.SPLIT_BRAIN) {
                node.audit("split-brain", "volume " + volume + ": " + reason, "replication off until resolved");
            }
        }

        @Override
        public void resyncProgress(String volume, ResyncProgress progress) {
            node.publish(new ResyncProgressed(wallClock.instant(), node.id(), volume, progress));
        }

        @Override
        public long resyncRateBytesPerSecond() {
            return resyncRate;
        }

        @Override
        public long ackTimeoutNanos() {
            return node.replicationAckTimeoutNanos();
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            node.audit(action, detail, outcome);
        }
    }
}
