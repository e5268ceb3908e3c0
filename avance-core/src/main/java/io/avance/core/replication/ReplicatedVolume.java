package io.avance.core.replication;

import io.avance.api.replication.DataState;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.ResyncProgress;
import io.avance.api.replication.VerifyReport;
import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeException;
import io.avance.api.replication.VolumeSpec;
import io.avance.api.replication.VolumeStatus;
import io.avance.core.storage.ActivityLog;
import io.avance.core.storage.BitmapFile;
import io.avance.core.storage.BlockStore;
import io.avance.core.storage.DirtyBitmap;
import io.avance.core.storage.Generation;
import io.avance.core.storage.SyncDecision;
import io.avance.core.storage.VolumeMeta;
import io.avance.core.time.ExecutorScheduler;
import io.avance.core.time.Scheduler;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One volume on one node: its local copy and its replication to the peer's copy.
 *
 * <p>Every state change runs on the volume's own I/O thread, in submission order: client writes,
 * flushes, messages from the peer, resync and verify steps. That one ordering is what makes the
 * guarantees hold: overlapping writes reach both copies in the same order (the peer applies them
 * in the order they were sent, on its own I/O thread); resync data is read and sent in the same
 * stream as newer writes, so it can never overtake them; a verify digest is taken at the same
 * point of the write stream on both nodes. Reads run on a shared pool, outside the order: a read
 * sees every write that completed before it was issued.
 *
 * <h2>Replication states</h2>
 * <pre>
 *   STANDALONE (no peer configured)              DEGRADED (peer away; writes tracked)
 *                                                  |  ^
 *                                   session up     v  | session down
 *                                                CONNECTED --plan--&gt; SYNCED
 *                                                  |  |                  ^
 *                                                  |  '--&gt; SYNC_SOURCE --'   (this node sends)
 *                                                  |  '--&gt; SYNC_TARGET --'   (this node receives)
 *                                                  '-----&gt; SPLIT_BRAIN --resolve--&gt; SYNC_*
 * </pre>
 *
 * <h2>A write on the primary</h2>
 * <ol>
 *   <li>the extents it touches are put in the durable activity log;</li>
 *   <li>without the peer, a new generation starts (once per outage) and the blocks are marked in
 *       the dirty bitmap; the first such write waits until the peer can know it is outdated;</li>
 *   <li>with the peer, the write is sent to it at once;</li>
 *   <li>the write is applied locally (and fdatasync'd for FUA);</li>
 *   <li>it completes when applied on both (and, at completion, the node must still hold its
 *       serving lease, or the write fails: a node that may have been replaced never acknowledges).</li>
 * </ol>
 */
public final class ReplicatedVolume implements Volume, AutoCloseable {

    private static final Logger LOG = System.getLogger(ReplicatedVolume.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The largest run sent in one replicated write or resync message. */
    static final int MAX_CHUNK = 4 << 20;
    private static final int EXTENT_SHIFT = 22;
    /** The activity log covers up to 4 GiB (1,024 extents of 4 MiB), or the whole volume if smaller. */
    private static final int ACTIVITY_LOG_EXTENTS = 1024;
    private static final int RESYNC_RUN = 1 << 20;
    private static final int RESYNC_WINDOW = 8 << 20;
    private static final int VERIFY_BLOCKS = 256;
    /**
     * A replicated write the peer has not acknowledged by then means a stuck peer (a hung disk, a
     * wedged process): the data session is dropped, and the write, like every write after it, is
     * tracked in the bitmap instead of hanging the application. Long, because a backup's flush of a
     * large page cache can legitimately take many seconds (DRBD's default is 42 s).
     */
    static final long ACK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** A fence that has not answered by then failed: the writes behind it fail rather than hang. */
    private static final long FENCE_TIMEOUT_SECONDS = 30;

    private static final Map<ReplicationState, Set<ReplicationState>> LEGAL = new EnumMap<>(ReplicationState.class);

    static {
        LEGAL.put(ReplicationState.STANDALONE, EnumSet.of(ReplicationState.CONNECTED));
        LEGAL.put(ReplicationState.DEGRADED, EnumSet.of(ReplicationState.CONNECTED));
        LEGAL.put(ReplicationState.CONNECTED, EnumSet.of(ReplicationState.SYNCED, ReplicationState.SYNC_SOURCE,
                ReplicationState.SYNC_TARGET, ReplicationState.SPLIT_BRAIN, ReplicationState.DEGRADED));
        LEGAL.put(ReplicationState.SYNCED, EnumSet.of(ReplicationState.DEGRADED, ReplicationState.CONNECTED,
                ReplicationState.SYNC_SOURCE, ReplicationState.SYNC_TARGET));
        LEGAL.put(ReplicationState.SYNC_SOURCE, EnumSet.of(ReplicationState.SYNCED, ReplicationState.DEGRADED,
                ReplicationState.CONNECTED));
        LEGAL.put(ReplicationState.SYNC_TARGET, EnumSet.of(ReplicationState.SYNCED, ReplicationState.DEGRADED,
                ReplicationState.CONNECTED));
        LEGAL.put(ReplicationState.SPLIT_BRAIN, EnumSet.of(ReplicationState.SYNC_SOURCE, ReplicationState.SYNC_TARGET,
                ReplicationState.DEGRADED, ReplicationState.CONNECTED));
    }

    /** What a volume needs from its node. */
    interface Host {
        /** @return whether this node may serve now (primary, lease held) */
        boolean mayServe();

        /** @return whether this node is the pair's primary (its role, lease aside) */
        boolean primary();

        /** @return whether this node has a peer at all */
        boolean paired();

        /** @return the monotonic clock reading */
        long nanoTime();

        /** Reports that this node's copy now holds writes its peer lacks; completes when the peer can know. */
        CompletableFuture<Void> announceDegraded();

        /** @param volume the volume whose local disk failed @param cause why */
        void diskFailed(String volume, String cause);

        /** @param volume the volume @param from old state @param to new state @param reason why */
        void stateChanged(String volume, ReplicationState from, ReplicationState to, String reason);

        /** @param volume the volume @param progress how far its resync has come */
        void resyncProgress(String volume, ResyncProgress progress);

        /** @return the resync rate limit in bytes per second (0 for none) */
        long resyncRateBytesPerSecond();

        /** @return how long a replicated write may wait for the peer before the session is dropped */
        long ackTimeoutNanos();

        /** @param action what @param detail to what and why @param outcome what came of it */
        void audit(String action, String detail, String outcome);
    }

    /** The peer's end of the data channel, as a volume sees it. */
    interface PeerSession {
        /** @param frame a complete frame, whose ownership passes to the session @return false if gone */
        boolean send(ByteBuf frame);

        /** @return the allocator to build frames with */
        ByteBufAllocator allocator();

        /** @return whether the channel can take more without piling up */
        boolean writable();

        /** @param reason why the session must be dropped (the peer stopped acknowledging, or broke the protocol) */
        void reset(String reason);
    }

    private final VolumeSpec spec;
    private final Path directory;
    private final BlockStore store;
    private final Host host;
    private final Executor reads;
    /** The volume's I/O thread in production (null on a given scheduler); its work and timers go through {@link #io}. */
    private final LoggingExecutor ioThread;
    /** Runs the volume's work, one task at a time, and its timers. */
    private final Scheduler io;
    /** Set when close begins: the periodic check stops rescheduling itself. */
    private volatile boolean closing;
    private final DirtyBitmap outOfSync;
    private final BitmapFile bitmapFile;
    private final ActivityLog activityLog;
    private final int blockSize;
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong resyncBytesSent = new AtomicLong();
    private final AtomicLong resyncBytesReceived = new AtomicLong();
    private final int localTag;

    // Confined to the I/O thread.
    private VolumeMeta meta;
    private final Map<Long, Pending> pending = new LinkedHashMap<>();
    private final Map<Long, Integer> busyExtents = new HashMap<>();
    /** Reads sent to the peer (after this disk failed), oldest first. */
    private final Map<Long, RemoteRead> remoteReads = new LinkedHashMap<>();

    /** A read the peer has not answered yet. */
    private record RemoteRead(CompletableFuture<ByteBuf> future, long startedNanos) {
    }
    /**
     * Writes waiting for room in the activity log (every extent in it is touched by a write in
     * flight), in submission order; later writes queue behind them so that order is kept.
     */
    private final java.util.ArrayDeque<Waiting> waitingForLog = new java.util.ArrayDeque<>();

    private record Waiting(long firstExtent, long lastExtent, Runnable task) {
    }
    private long nextSeq;
    private long nextLocalId;
    private PeerSession peer;
    /** Why the copies are in split brain, as the primary found it; null for a size mismatch. */
    private SyncDecision splitDecision;
    /** A reset of the data session was asked for and peerLost has not come yet. */
    private boolean resetRequested;
    private int tag = -1;
    private boolean planned;
    /** The role the volume last acted on (the node's role can change before the volume hears). */
    private boolean actingPrimary;
    private Generation peerGeneration;
    private boolean peerConsistent;
    private boolean upToDateHere;
    /** Set from the controller's thread the moment the primary says it writes without this node. */
    private volatile boolean outdated;
    private boolean localFailed;
    private CompletableFuture<Void> degradedFence;
    private Resync resync;
    private Verify verify;
    private long nextRequestId;

    private volatile ReplicationState state;
    private volatile DataState dataState = DataState.CONSISTENT;
    private volatile ResyncProgress progress;
    private volatile VerifyReport lastVerify;
    private volatile long dirtyBytes;

    private final class Pending {
        final long offset;
        final long length;
        final CompletableFuture<Void> future;
        /** Whether the peer must apply it too; cleared when the peer goes away before acknowledging. */
        boolean needsRemote;
        long id;
        boolean local;
        boolean remote;

        final long startedNanos = host.nanoTime();

        Pending(long offset, long length, CompletableFuture<Void> future, boolean needsRemote) {
            this.offset = offset;
            this.length = length;
            this.future = future;
            this.needsRemote = needsRemote;
        }
    }

    /**
     * The volume's I/O thread. A task that throws is a bug: it is logged, never swallowed (a
     * scheduled executor would otherwise keep the exception in a future nobody reads).
     */
    private static final class LoggingExecutor extends ScheduledThreadPoolExecutor {
        private final String volume;

        LoggingExecutor(String volume) {
            super(1, new DefaultThreadFactory("avance-volume-" + volume, true));
            this.volume = volume;
        }

        @Override
        protected void afterExecute(Runnable task, Throwable thrown) {
            super.afterExecute(task, thrown);
            Throwable failure = thrown;
            if (failure == null && task instanceof java.util.concurrent.Future<?> future && future.isDone()
                    && !future.isCancelled()) {
                try {
                    future.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    failure = e.getCause();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (failure != null) {
                LOG.log(Level.ERROR, "volume " + volume + ": a task on its I/O thread failed", failure);
            }
        }
    }

    /**
     * Opens a volume's copy on this node, creating it if needed, and recovers after a crash.
     *
     * @param spec      the volume
     * @param directory where its metadata, bitmap and log live
     * @param store     its data
     * @param host      the node
     * @param reads     where reads run
     * @param localTag  the number this node's messages use for the volume when it is primary
     * @throws IOException if the files cannot be opened
     */
    ReplicatedVolume(VolumeSpec spec, Path directory, BlockStore store, Host host, Executor reads, int localTag)
            throws IOException {
        this(spec, directory, store, host, reads, localTag, ioThread(spec));
    }

    /**
     * Opens a volume's copy whose work and timers run on a given scheduler (the simulation's
     * virtual time): such a volume is never closed, only dropped with its scheduler.
     *
     * @param spec      the volume
     * @param directory where its metadata, bitmap and log live
     * @param store     its data
     * @param host      the node
     * @param reads     where reads run
     * @param localTag  the number this node's messages use for the volume when it is primary
     * @param io        runs the volume's work, one task at a time, and its timers
     * @throws IOException if the files cannot be opened
     */
    ReplicatedVolume(VolumeSpec spec, Path directory, BlockStore store, Host host, Executor reads, int localTag,
                     Scheduler io) throws IOException {
        this(spec, directory, store, host, reads, localTag, null, io);
    }

    private ReplicatedVolume(VolumeSpec spec, Path directory, BlockStore store, Host host, Executor reads,
                             int localTag, LoggingExecutor ioThread) throws IOException {
        this(spec, directory, store, host, reads, localTag, ioThread, new ExecutorScheduler(ioThread));
    }

    private static LoggingExecutor ioThread(VolumeSpec spec) {
        LoggingExecutor thread = new LoggingExecutor(spec.name());
        thread.setRemoveOnCancelPolicy(true);
        // A closed volume's timers (resync pacing, the acknowledgement check) end with it.
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return thread;
    }

    private ReplicatedVolume(VolumeSpec spec, Path directory, BlockStore store, Host host, Executor reads,
                             int localTag, LoggingExecutor ioThread, Scheduler io) throws IOException {
        this.ioThread = ioThread;
        this.io = io;
        this.localTag = localTag;
        this.spec = spec;
        this.directory = directory;
        this.store = store;
        this.host = host;
        this.reads = reads;
        this.blockSize = spec.bitmapBlockSizeBytes();
        Files.createDirectories(directory);
        Path metaFile = directory.resolve(spec.name() + ".meta");
        Optional<VolumeMeta> existing = VolumeMeta.read(metaFile);
        if (existing.isPresent() && (existing.get().sizeBytes() != spec.sizeBytes()
                || existing.get().bitmapBlockSizeBytes() != spec.bitmapBlockSizeBytes())) {
            throw new IOException("volume " + spec.name() + " exists with size " + existing.get().sizeBytes()
                    + " and bitmap block " + existing.get().bitmapBlockSizeBytes() + ", not " + spec.sizeBytes() + "/"
                    + spec.bitmapBlockSizeBytes());
        }
        this.meta = existing.orElse(VolumeMeta.created(spec.name(), spec.sizeBytes(), spec.bitmapBlockSizeBytes()));
        this.outOfSync = new DirtyBitmap(spec.sizeBytes(), blockSize);
        this.bitmapFile = new BitmapFile(directory.resolve(spec.name() + ".bitmap"), outOfSync);
        long extents = (spec.sizeBytes() + (1L << EXTENT_SHIFT) - 1) >>> EXTENT_SHIFT;
        this.activityLog = new ActivityLog(directory.resolve(spec.name() + ".al"), EXTENT_SHIFT,
                (int) Math.min(ACTIVITY_LOG_EXTENTS, extents));
        bitmapFile.loadInto();
        if (!meta.cleanShutdown() && activityLog.unreadable()) {
            // A crash, and no readable record of where writes were: assume they were anywhere.
            outOfSync.setAll();
            LOG.log(Level.WARNING, "volume {0}: not shut down cleanly and its activity log cannot be read; the whole "
                    + "volume will be resynchronised", spec.name());
        } else if (!meta.cleanShutdown()) {
            // A crash: whatever the hot extents were being written may be on this copy only.
            int shift = EXTENT_SHIFT - outOfSync.blockShift();
            for (long extent : activityLog.recovered()) {
                outOfSync.set(extent << shift, Math.min(outOfSync.blocks(), (extent + 1) << shift));
            }
            LOG.log(Level.WARNING, "volume {0}: not shut down cleanly; {1} extents of the activity log and {2} dirty "
                    + "blocks will be resynchronised", spec.name(), activityLog.recovered().size(), outOfSync.cardinality());
        }
        this.localFailed = meta.failed();
        this.meta = meta.withCleanShutdown(false);
        meta.write(metaFile);
        this.state = host.paired() ? ReplicationState.DEGRADED : ReplicationState.STANDALONE;
        // A copy that was tracking writes without its peer still holds writes the peer lacks.
        this.degradedFenceStarted = meta.generation().bitmap() != Generation.ZERO;
        this.dirtyBytes = outOfSync.dirtyBytes();
        long checkMillis = Math.max(10, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(host.ackTimeoutNanos()) / 4));
        checkAcknowledgementsEvery(TimeUnit.MILLISECONDS.toNanos(checkMillis));
        refreshDataState();
    }

    /**
     * Writes a buffer that may be a composite (the data channel and the NBD server cumulate large
     * payloads without copying them): each part where it belongs, never merged into a copy first.
     */
    private void writeTo(long offset, ByteBuf data) throws IOException {
        if (data.nioBufferCount() == 1) {
            store.write(offset, data.nioBuffer());
            return;
        }
        long at = offset;
        for (ByteBuffer part : data.nioBuffers()) {
            int length = part.remaining();
            store.write(at, part);
            at += length;
        }
    }

    private void checkAcknowledgementsEvery(long periodNanos) {
        io.after(periodNanos, () -> {
            checkAcknowledgements();
            if (!closing) {
                try {
                    checkAcknowledgementsEvery(periodNanos);
                } catch (RejectedExecutionException e) {
                    // Closed meanwhile.
                }
            }
        });
    }

    /**
     * Drops the data session if the oldest replicated write, or the oldest read sent to the peer,
     * has waited too long for it (a backup whose disk hangs): writes then go on degraded, and reads
     * fail rather than hang.
     */
    private void checkAcknowledgements() {
        if (peer == null || resetRequested) {
            return;
        }
        for (RemoteRead read : remoteReads.values()) {
            long waited = host.nanoTime() - read.startedNanos();
            if (waited >= host.ackTimeoutNanos()) {
                resetRequested = true;
                peer.reset("volume " + spec.name() + ": the peer has not answered a read for "
                        + TimeUnit.NANOSECONDS.toSeconds(waited) + " s");
                return;
            }
            // Oldest first: the first one is the one that waited longest.
            break;
        }
        for (Pending op : pending.values()) {
            if (op.needsRemote && !op.remote) {
                long waited = host.nanoTime() - op.startedNanos;
                if (waited >= host.ackTimeoutNanos()) {
                    resetRequested = true;
                    peer.reset("volume " + spec.name() + ": the peer has not acknowledged a write for "
                            + TimeUnit.NANOSECONDS.toSeconds(waited) + " s");
                }
                // Pending keeps submission order: the first one waiting is the oldest.
                return;
            }
        }
    }

    @Override
    public String name() {
        return spec.name();
    }

    @Override
    public long sizeBytes() {
        return spec.sizeBytes();
    }

    /** @return the volume's spec */
    public VolumeSpec spec() {
        return spec;
    }

    /** @return the replication state now */
    public ReplicationState state() {
        return state;
    }

    /** @return this copy's data state now */
    public DataState dataState() {
        DataState base = dataState;
        return outdated && !host.primary() ? base.worse(DataState.OUTDATED) : base;
    }

    /** @return bytes the resync source has sent, zero runs counted by the bytes actually sent */
    public long resyncBytesSent() {
        return resyncBytesSent.get();
    }

    /** @return bytes of resync data this node received and applied */
    public long resyncBytesReceived() {
        return resyncBytesReceived.get();
    }

    /** @return bytes written by clients to this volume through this node */
    public long bytesWritten() {
        return bytesWritten.get();
    }

    @Override
    public VolumeStatus status() {
        ReplicationState current = state;
        DataState peerData = switch (current) {
            case SYNCED, SYNC_TARGET -> DataState.UP_TO_DATE;
            case SYNC_SOURCE -> DataState.INCONSISTENT;
            default -> DataState.OUTDATED;
        };
        return new VolumeStatus(spec.name(), spec.sizeBytes(), current, dataState(), peerData, dirtyBytes,
                Optional.ofNullable(progress).filter(p -> current == ReplicationState.SYNC_SOURCE
                        || current == ReplicationState.SYNC_TARGET), Optional.ofNullable(lastVerify));
    }

    // ------------------------------------------------------------------------------------------
    // Client I/O (any thread)

    @Override
    public CompletionStage<Void> read(long offset, ByteBuffer destination) {
        int length = destination.remaining();
        return read(offset, length, ByteBufAllocator.DEFAULT).thenAccept(data -> {
            try {
                destination.duplicate().put(data.nioBuffer());
            } finally {
                data.release();
            }
        });
    }

    @Override
    public CompletionStage<Void> write(long offset, ByteBuffer data, boolean fua) {
        return write(offset, Unpooled.wrappedBuffer(data), fua);
    }

    @Override
    public CompletionStage<Void> flush() {
        return flushAll();
    }

    @Override
    public CompletionStage<Void> trim(long offset, long length) {
        return zeroes(offset, length, false, true);
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length, boolean fua) {
        return zeroes(offset, length, fua, false);
    }

    /**
     * Reads a range into a new buffer that the caller owns.
     *
     * @param offset    where
     * @param length    how much
     * @param allocator for the buffer
     * @return the data, or a {@link VolumeException}
     */
    public CompletableFuture<ByteBuf> read(long offset, int length, ByteBufAllocator allocator) {
        CompletableFuture<ByteBuf> result = new CompletableFuture<>();
        VolumeException refused = checkClient(offset, length);
        if (refused != null) {
            result.completeExceptionally(refused);
            return result;
        }
        if (localFailed) {
            io.execute(() -> remoteRead(offset, length, result));
            return result;
        }
        reads.execute(() -> {
            ByteBuf data = allocator.directBuffer(length, length);
            try {
                store.read(offset, data.nioBuffer(0, length));
                data.writerIndex(length);
                if (!host.mayServe()) {
                    data.release();
                    result.completeExceptionally(notServing());
                    return;
                }
                result.complete(data);
            } catch (IOException e) {
                data.release();
                io.execute(() -> {
                    failLocal("read at " + offset + ": " + e.getMessage());
                    remoteRead(offset, length, result);
                });
            } catch (RuntimeException e) {
                data.release();
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /**
     * Reads this node's own copy although it does not serve: for a VM arriving here by live
     * migration, whose disks the hypervisor opens before this node becomes primary. Only a copy
     * that receives every write (up to date, in sync with the primary) is read.
     *
     * @param offset    where
     * @param length    how much
     * @param allocator for the buffer
     * @return the data, or a {@link VolumeException}
     */
    public CompletableFuture<ByteBuf> readCopy(long offset, int length, ByteBufAllocator allocator) {
        CompletableFuture<ByteBuf> result = new CompletableFuture<>();
        if (offset < 0 || length < 0 || offset + length > spec.sizeBytes() || offset + length < offset) {
            result.completeExceptionally(new VolumeException(VolumeException.Reason.OUT_OF_RANGE, "range " + offset
                    + "+" + length + " is outside volume " + spec.name() + " of " + spec.sizeBytes() + " bytes"));
            return result;
        }
        if (!copyReadable()) {
            result.completeExceptionally(copyNotReadable());
            return result;
        }
        reads.execute(() -> {
            ByteBuf data = allocator.directBuffer(length, length);
            try {
                store.read(offset, data.nioBuffer(0, length));
                data.writerIndex(length);
                // Checked again after the read, as read() checks the role: a copy that fell behind
                // meanwhile (a resync, an outdated mark) must not answer.
                if (!copyReadable()) {
                    data.release();
                    result.completeExceptionally(copyNotReadable());
                    return;
                }
                result.complete(data);
            } catch (IOException | RuntimeException e) {
                data.release();
                result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "read of this node's"
                        + " copy of " + spec.name() + " at " + offset + " failed: " + e.getMessage()));
            }
        });
        return result;
    }

    private boolean copyReadable() {
        return state == ReplicationState.SYNCED && dataState() == DataState.UP_TO_DATE && !localFailed;
    }

    private VolumeException copyNotReadable() {
        return new VolumeException(VolumeException.Reason.NOT_SERVING, "this node's copy of " + spec.name()
                + " is not up to date (" + state + ", " + dataState() + "): it cannot be read here");
    }

    /**
     * Writes a buffer, taking ownership of it.
     *
     * @param offset where
     * @param data   the bytes (released by the volume)
     * @param fua    durable on both copies before completing
     * @return completes when applied on both copies
     */
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        VolumeException refused = checkClient(offset, data.readableBytes());
        if (refused != null) {
            data.release();
            result.completeExceptionally(refused);
            return result;
        }
        io.execute(() -> admit(offset, data.readableBytes(), () -> {
            try {
                doWrite(offset, data, fua, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            } finally {
                data.release();
            }
        }));
        return result;
    }

    /**
     * Runs a write now, or queues it (in order) until the activity log has room for its extents.
     * On the I/O thread.
     */
    private void admit(long offset, long length, Runnable task) {
        long first = offset >>> EXTENT_SHIFT;
        long last = (offset + Math.max(1, length) - 1) >>> EXTENT_SHIFT;
        if (waitingForLog.isEmpty() && activityLog.hasRoom(first, last, busyExtents.keySet())) {
            task.run();
        } else {
            waitingForLog.add(new Waiting(first, last, task));
        }
    }

    /** Runs the queued writes that now fit, in order; called whenever a write unpins its extents. */
    private void admitWaiting() {
        if (admitting) {
            // A write run from the loop below completed at once and unpinned: the loop goes on.
            return;
        }
        admitting = true;
        try {
            while (!waitingForLog.isEmpty()) {
                Waiting next = waitingForLog.peek();
                if (!activityLog.hasRoom(next.firstExtent(), next.lastExtent(), busyExtents.keySet())) {
                    return;
                }
                waitingForLog.poll();
                next.task().run();
            }
        } finally {
            admitting = false;
        }
    }

    private boolean admitting;

    /**
     * Writes zeros, or trims (which reads back as zeros too).
     *
     * @param offset where
     * @param length how much
     * @param fua    durable on both copies before completing
     * @param trim   true for a trim
     * @return completes when applied on both copies
     */
    public CompletableFuture<Void> zeroes(long offset, long length, boolean fua, boolean trim) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        VolumeException refused = checkClient(offset, length);
        if (refused != null) {
            result.completeExceptionally(refused);
            return result;
        }
        io.execute(() -> admit(offset, length, () -> {
            try {
                doZeroes(offset, length, fua, trim, result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }));
        return result;
    }

    /**
     * Makes every completed write durable on both copies.
     *
     * @return completes when that holds
     */
    public CompletableFuture<Void> flushAll() {
        CompletableFuture<Void> result = new CompletableFuture<>();
        if (!host.mayServe()) {
            result.completeExceptionally(notServing());
            return result;
        }
        io.execute(() -> {
            try {
                doFlush(result);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private VolumeException checkClient(long offset, long length) {
        if (!host.mayServe()) {
            return notServing();
        }
        if (offset < 0 || length < 0 || offset + length > spec.sizeBytes() || offset + length < offset) {
            return new VolumeException(VolumeException.Reason.OUT_OF_RANGE, "range " + offset + "+" + length
                    + " is outside volume " + spec.name() + " of " + spec.sizeBytes() + " bytes");
        }
        return null;
    }

    private VolumeException notServing() {
        return new VolumeException(VolumeException.Reason.NOT_SERVING, "this node may not serve volume " + spec.name()
                + " now (it is not the primary, or it lost its serving lease)");
    }

    // ------------------------------------------------------------------------------------------
    // The write path (I/O thread)

    /**
     * Whether writes go to the peer: this node planned the sync (so it is the primary and the peer
     * follows its stream). While the peer's dirty bits are on their way the state is still
     * CONNECTED; writes replicate then too, ahead of the resync in the same stream.
     */
    private boolean replicating() {
        return peer != null && planned && host.primary() && (state == ReplicationState.SYNCED
                || state == ReplicationState.SYNC_SOURCE || state == ReplicationState.CONNECTED);
    }

    private void doWrite(long offset, ByteBuf data, boolean fua, CompletableFuture<Void> result) {
        int length = data.readableBytes();
        if (length == 0) {
            result.complete(null);
            return;
        }
        Pending op = prepare(offset, length, result);
        if (op == null) {
            return;
        }
        if (op.needsRemote) {
            long seq = register(op);
            sendChunks(seq, offset, data, fua);
        }
        if (!localFailed) {
            try {
                writeTo(offset, data);
                if (fua) {
                    store.sync();
                }
            } catch (IOException e) {
                failLocal("write at " + offset + ": " + e.getMessage());
                if (!op.needsRemote) {
                    pending.remove(op.id);
                    unpin(op);
                    result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR,
                            "volume " + spec.name() + ": the local disk failed and the peer is away", e));
                    return;
                }
            }
        }
        bytesWritten.addAndGet(length);
        localDone(op);
    }

    private void doZeroes(long offset, long length, boolean fua, boolean trim, CompletableFuture<Void> result) {
        if (length == 0) {
            result.complete(null);
            return;
        }
        Pending op = prepare(offset, length, result);
        if (op == null) {
            return;
        }
        if (op.needsRemote) {
            long seq = register(op);
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeLong(seq).writeLong(offset).writeLong(length)
                    .writeByte((fua ? DataCodec.FUA : 0) | (trim ? DataCodec.TRIM : 0));
            peer.send(DataCodec.frame(peer.allocator(), FrameType.ZEROES, fields, null));
        }
        if (!localFailed) {
            try {
                store.writeZeroes(offset, length);
                if (fua) {
                    store.sync();
                }
            } catch (IOException e) {
                failLocal("zeroes at " + offset + ": " + e.getMessage());
                if (!op.needsRemote) {
                    pending.remove(op.id);
                    unpin(op);
                    result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR,
                            "volume " + spec.name() + ": the local disk failed and the peer is away", e));
                    return;
                }
            }
        }
        localDone(op);
    }

    /**
     * Everything a write needs before it touches a disk; null if it was refused.
     */
    private Pending prepare(long offset, long length, CompletableFuture<Void> result) {
        if (!host.mayServe()) {
            result.completeExceptionally(notServing());
            return null;
        }
        boolean remote = replicating();
        if (localFailed && !remote) {
            result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                    + ": the local disk failed and the peer is away"));
            return null;
        }
        long firstExtent = offset >>> EXTENT_SHIFT;
        long lastExtent = (offset + length - 1) >>> EXTENT_SHIFT;
        try {
            activityLog.ensure(firstExtent, lastExtent, busyExtents.keySet(), this::persistExtents);
        } catch (IOException e) {
            failLocal("activity log: " + e.getMessage());
            if (!remote) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                        + ": cannot record the write in the activity log: " + e.getMessage(), e));
                return null;
            }
        }
        if (!remote) {
            if (!startTracking(result)) {
                return null;
            }
            long from = outOfSync.firstBlock(offset);
            long to = outOfSync.endBlock(offset, length);
            outOfSync.set(from, to);
            dirtyBytes = outOfSync.dirtyBytes();
        }
        Pending op = new Pending(offset, length, result, remote);
        for (long extent = firstExtent; extent <= lastExtent; extent++) {
            busyExtents.merge(extent, 1, Integer::sum);
        }
        if (!remote) {
            op.id = --nextLocalId;
            pending.put(op.id, op);
        }
        return op;
    }

    /**
     * Without the peer, the first write starts a new generation (persisted first), and waits until
     * the peer can know its copy is outdated.
     */
    private boolean startTracking(CompletableFuture<Void> result) {
        if (meta.generation().bitmap() == 0) {
            Generation rotated = meta.generation().rotated(RANDOM.nextLong() | 1);
            try {
                writeMeta(meta.withGeneration(rotated));
            } catch (RuntimeException e) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                        + spec.name() + ": cannot record the new generation: " + e.getMessage(), e));
                return false;
            }
            LOG.log(Level.INFO, "volume {0}: writing without the peer; new generation {1}", spec.name(), rotated);
        }
        if (degradedFence == null || degradedFence.isCompletedExceptionally()) {
            degradedFenceStarted = true;
            degradedFence = host.paired() ? failAfter(host.announceDegraded(), TimeUnit.SECONDS.toNanos(FENCE_TIMEOUT_SECONDS))
                    : CompletableFuture.completedFuture(null);
        }
        return true;
    }

    /** Fails a future with a {@link TimeoutException} if it has not completed within a time on the volume's clock. */
    private <T> CompletableFuture<T> failAfter(CompletableFuture<T> future, long nanos) {
        Scheduler.Timer timer = io.after(nanos, () -> future.completeExceptionally(new TimeoutException(
                "no answer within " + TimeUnit.NANOSECONDS.toSeconds(nanos) + " s")));
        future.whenComplete((ignored, error) -> timer.cancel());
        return future;
    }

    private long register(Pending op) {
        long seq = ++nextSeq;
        op.id = seq;
        pending.put(seq, op);
        return seq;
    }

    private void sendChunks(long seq, long offset, ByteBuf data, boolean fua) {
        // One WRITE per chunk; all share the sequence number, and the peer acknowledges the last.
        int length = data.readableBytes();
        int sent = 0;
        while (sent < length) {
            int chunk = Math.min(MAX_CHUNK, length - sent);
            boolean last = sent + chunk == length;
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeLong(last ? seq : 0).writeLong(offset + sent)
                    .writeByte(fua ? DataCodec.FUA : 0);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.WRITE, fields,
                    data.retainedSlice(data.readerIndex() + sent, chunk)));
            sent += chunk;
        }
    }

    private void localDone(Pending op) {
        op.local = true;
        maybeComplete(op);
    }

    private void maybeComplete(Pending op) {
        if (!op.local || (op.needsRemote && !op.remote)) {
            return;
        }
        pending.remove(op.id);
        unpin(op);
        if (!op.needsRemote && degradedFence != null && !degradedFence.isDone()) {
            // The peer must be able to know it is outdated before a write it lacks is acknowledged.
            degradedFence.whenComplete((ignored, error) -> io.execute(() -> {
                if (error != null) {
                    op.future.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                            + spec.name() + ": the peer could not be told that its copy is outdated: " + error));
                } else {
                    finish(op);
                }
            }));
            return;
        }
        if (!op.needsRemote && degradedFence != null && degradedFence.isCompletedExceptionally()) {
            op.future.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                    + spec.name() + ": the peer could not be told that its copy is outdated"));
            return;
        }
        finish(op);
    }

    private void finish(Pending op) {
        if (host.mayServe()) {
            op.future.complete(null);
        } else {
            op.future.completeExceptionally(notServing());
        }
    }

    private void unpin(Pending op) {
        if (op.length == 0) {
            return;
        }
        long firstExtent = op.offset >>> EXTENT_SHIFT;
        long lastExtent = (op.offset + op.length - 1) >>> EXTENT_SHIFT;
        for (long extent = firstExtent; extent <= lastExtent; extent++) {
            busyExtents.computeIfPresent(extent, (key, count) -> count == 1 ? null : count - 1);
        }
        if (!waitingForLog.isEmpty()) {
            admitWaiting();
        }
    }

    /**
     * Before extents leave the activity log: every completed write in them must be durable (so a
     * crash cannot lose one that the peer has), and their dirty bits too, including those of resync
     * runs sent but not yet acknowledged (cleared in memory, not yet on the peer). One data fsync
     * and one bitmap fsync cover the whole batch.
     */
    private void persistExtents(List<Long> extents) throws IOException {
        if (!localFailed) {
            store.sync();
        }
        int shift = EXTENT_SHIFT - outOfSync.blockShift();
        List<Long> borrowed = new ArrayList<>();
        try {
            for (long extent : extents) {
                long from = extent << shift;
                long to = Math.min(outOfSync.blocks(), (extent + 1) << shift);
                for (Map.Entry<Long, Long> run : inFlightResync.entrySet()) {
                    long first = Math.max(from, run.getKey() / blockSize);
                    long end = Math.min(to, (run.getKey() + run.getValue() + blockSize - 1) / blockSize);
                    for (long block = first; block < end; block++) {
                        if (!outOfSync.get(block)) {
                            outOfSync.set(block, block + 1);
                            borrowed.add(block);
                        }
                    }
                }
                bitmapFile.writeWithoutSync(from, to);
            }
            bitmapFile.sync();
        } finally {
            for (long block : borrowed) {
                outOfSync.clear(block, block + 1);
            }
        }
    }

    /** A write on the backup's copy joins the activity log first, as the primary's writes do. */
    private boolean logApplied(long offset, long length) {
        if (length <= 0) {
            return true;
        }
        try {
            activityLog.ensure(offset >>> EXTENT_SHIFT, (offset + length - 1) >>> EXTENT_SHIFT, busyExtents.keySet(),
                    this::persistExtents);
            return true;
        } catch (IOException e) {
            failLocal("activity log: " + e.getMessage());
            return false;
        }
    }

    private void doFlush(CompletableFuture<Void> result) {
        Pending op = new Pending(0, 0, result, replicating());
        if (op.needsRemote) {
            long seq = register(op);
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeLong(seq);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.FLUSH, fields, null));
        } else if (localFailed) {
            result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                    + ": the local disk failed and the peer is away"));
            return;
        }
        if (!localFailed) {
            try {
                store.sync();
            } catch (IOException e) {
                failLocal("flush: " + e.getMessage());
                if (!op.needsRemote) {
                    pending.remove(op.id);
                    result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                            + spec.name() + ": flush failed: " + e.getMessage(), e));
                    return;
                }
            }
        }
        if (!op.needsRemote) {
            finish(op);
            return;
        }
        op.local = true;
        maybeComplete(op);
    }

    /** Rule 5: the local disk failed; from now on this copy is not used. */
    private void failLocal(String cause) {
        if (localFailed) {
            return;
        }
        localFailed = true;
        LOG.log(Level.ERROR, "volume {0}: local disk failed ({1}); serving from the peer's copy", spec.name(), cause);
        try {
            writeMeta(meta.withFailed(true));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "volume {0}: cannot record the failure: {1}", spec.name(), e.getMessage());
        }
        refreshDataState();
        host.audit("disk-failed", "volume " + spec.name() + ": " + cause, "serving from the peer's copy");
        host.diskFailed(spec.name(), cause);
    }

    private void remoteRead(long offset, int length, CompletableFuture<ByteBuf> result) {
        if (!replicating() && !(peer != null && planned)) {
            result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                    + ": the local disk failed and the peer's copy cannot be reached"));
            return;
        }
        if (length > 0 && outOfSync.anySet(outOfSync.firstBlock(offset), outOfSync.endBlock(offset, length))) {
            // The peer's copy of these blocks is older than what was acknowledged, and the newer
            // data was only on the disk that failed: an error, never stale data.
            result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                    + ": blocks in " + offset + "+" + length + " were only on the local disk, which failed"));
            return;
        }
        // The peer answers at most MAX_CHUNK per request; a longer read is several requests.
        List<CompletableFuture<ByteBuf>> parts = new ArrayList<>();
        for (int done = 0; done < length || (length == 0 && parts.isEmpty()); done += MAX_CHUNK) {
            int part = Math.min(MAX_CHUNK, length - done);
            CompletableFuture<ByteBuf> future = new CompletableFuture<>();
            parts.add(future);
            long id = ++nextRequestId;
            remoteReads.put(id, new RemoteRead(future, host.nanoTime()));
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeLong(id).writeLong(offset + done).writeInt(part);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.READ_REQUEST, fields, null));
        }
        if (parts.size() == 1) {
            parts.get(0).whenComplete((data, error) -> {
                if (error != null) {
                    result.completeExceptionally(error);
                } else {
                    result.complete(data);
                }
            });
            return;
        }
        CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).whenComplete((ignored, error) -> {
            io.netty.buffer.CompositeByteBuf whole = peer == null ? null : peer.allocator().compositeBuffer(parts.size());
            Throwable failure = error;
            for (CompletableFuture<ByteBuf> part : parts) {
                ByteBuf data = part.isCompletedExceptionally() ? null : part.getNow(null);
                if (data == null) {
                    continue;
                }
                if (failure == null && whole != null) {
                    whole.addComponent(true, data);
                } else {
                    data.release();
                }
            }
            if (failure != null || whole == null) {
                if (whole != null) {
                    whole.release();
                }
                result.completeExceptionally(failure != null ? failure : new VolumeException(
                        VolumeException.Reason.IO_ERROR, "volume " + spec.name() + ": the peer went away during a read"));
            } else {
                result.complete(whole);
            }
        });
    }

    private void writeMeta(VolumeMeta next) {
        next.write(directory.resolve(spec.name() + ".meta"));
        meta = next;
    }

    // ------------------------------------------------------------------------------------------
    // The peer (I/O thread)

    /**
     * The data channel to the peer is up: describe this copy. Called on any thread.
     *
     * @param session the channel
     */
    void peerConnected(PeerSession session) {
        io.execute(() -> {
            peer = session;
            resetRequested = false;
            planned = false;
            tag = -1;
            actingPrimary = host.primary();
            transition(ReplicationState.CONNECTED, "the data channel to the peer is up");
            if (actingPrimary) {
                // Only the primary opens the exchange; the backup describes its copy in reply.
                sendHello();
            }
        });
    }

    /**
     * This node's role changed. Becoming or ceasing to be the primary starts a new plan with the
     * peer (the new primary asks for the backup's description). Called on any thread.
     */
    void roleChanged() {
        io.execute(() -> {
            boolean primaryNow = host.primary();
            if (primaryNow || actingPrimary) {
                // A primary's copy holds every write it acknowledged, also as it steps down; from
                // then on the new primary's degraded flag (or its silence) outdates it.
                upToDateHere = true;
                outdated = false;
            }
            refreshDataState();
            if (primaryNow == actingPrimary) {
                return;
            }
            actingPrimary = primaryNow;
            if (peer != null) {
                planned = false;
                abandonResync();
                if (state != ReplicationState.CONNECTED) {
                    transition(ReplicationState.CONNECTED, primaryNow ? "this node became primary; planning the sync"
                            : "this node is no longer primary; waiting for the new primary's plan");
                }
                if (primaryNow) {
                    sendHello();
                }
            }
        });
    }

    /**
     * The data channel went down. Called on any thread.
     */
    void peerLost() {
        io.execute(() -> {
            if (peer == null) {
                return;
            }
            peer = null;
            planned = false;
            tag = -1;
            abandonResync();
            // Writes the peer never acknowledged may be missing there: they become writes made
            // without the peer, recorded in the bitmap, in a new generation, and acknowledged only
            // once the peer can know its copy is outdated (the degraded fence), exactly as the
            // writes that follow them will be. Acknowledging them at once would let a backup that
            // never got them take over as up to date.
            List<Pending> orphaned = new ArrayList<>();
            for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
                Pending op = it.next();
                if (op.needsRemote && !op.remote) {
                    if (localFailed) {
                        // Never acknowledged, and never on a readable local copy: the peer's copy
                        // holds the block before or after it, both of which a failed write allows.
                        // Marking it would make the block unreadable for good and keep the peer
                        // from ever being up to date (and so from taking over under rule 5).
                        it.remove();
                        unpin(op);
                        op.future.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR,
                                "volume " + spec.name() + ": the peer went away with the only good copy"));
                        continue;
                    }
                    if (op.length > 0) {
                        outOfSync.set(outOfSync.firstBlock(op.offset), outOfSync.endBlock(op.offset, op.length));
                    }
                    orphaned.add(op);
                }
            }
            orphan(orphaned);
            dirtyBytes = outOfSync.dirtyBytes();
            for (RemoteRead read : remoteReads.values()) {
                read.future().completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                        + spec.name() + ": the peer went away during a read"));
            }
            remoteReads.clear();
            if (verify != null) {
                verify.fail("the peer went away");
            }
            if (state != ReplicationState.DEGRADED) {
                transition(ReplicationState.DEGRADED, "the data channel to the peer is down");
            }
            refreshDataState();
        });
    }

    /**
     * Writes applied here that the peer will not have (it went away, or could not apply them):
     * their blocks are already marked in the bitmap; they are acknowledged as writes made without
     * the peer are, in a new generation and only after the degraded fence.
     */
    private void orphan(List<Pending> ops) {
        if (ops.isEmpty()) {
            return;
        }
        CompletableFuture<Void> tracking = new CompletableFuture<>();
        if (!host.primary() || !startTracking(tracking)) {
            Throwable cause = host.primary() ? tracking.handle((ignored, error) -> error).join() : notServing();
            for (Pending op : ops) {
                pending.remove(op.id);
                unpin(op);
                op.future.completeExceptionally(cause);
            }
            return;
        }
        for (Pending op : ops) {
            op.needsRemote = false;
            if (op.local) {
                maybeComplete(op);
            }
        }
    }

    /**
     * The primary's newest heartbeat says whether it writes without this node. Called on the
     * controller's thread, and takes effect before it returns: the controller's next heartbeat
     * tells the primary this node knows.
     *
     * @param degraded true if the primary has writes this copy lacks
     */
    void peerDegraded(boolean degraded) {
        if (host.primary()) {
            return;
        }
        if (degraded && !outdated) {
            outdated = true;
            LOG.log(Level.WARNING, "volume {0}: the primary writes without this node; this copy is outdated until "
                    + "resynchronised", spec.name());
        } else if (!degraded && outdated && state == ReplicationState.SYNCED) {
            // A flagged heartbeat that crossed the resync's end: the copy is in sync after all.
            outdated = false;
        }
    }

    /**
     * The primary has been silent longer than any takeover could take: it may have acknowledged
     * writes since that this copy lacks. Called on the controller's thread; takes effect at once.
     */
    void peerSilent() {
        if (!host.primary() && !outdated && state != ReplicationState.STANDALONE) {
            outdated = true;
            LOG.log(Level.WARNING, "volume {0}: the primary has been silent too long; this copy counts as outdated "
                    + "until resynchronised", spec.name());
        }
    }

    /**
     * Whether this node holds writes its peer lacks (for the degraded flag in heartbeats).
     *
     * @return true while running on with a new generation
     */
    boolean holdsWritesThePeerLacks() {
        return degradedFenceStarted;
    }

    private volatile boolean degradedFenceStarted;

    private void sendHello() {
        ByteBuf fields = DataCodec.fields(peer.allocator());
        DataCodec.writeName(fields, spec.name());
        fields.writeLong(spec.sizeBytes()).writeInt(blockSize);
        DataCodec.writeGeneration(fields, meta.generation());
        fields.writeByte((meta.consistent() ? 1 : 0) | (localFailed ? 2 : 0) | (host.primary() ? 4 : 0));
        fields.writeLong(outOfSync.cardinality());
        peer.send(DataCodec.frame(peer.allocator(), FrameType.VOLUME_HELLO, fields, null));
    }

    /**
     * A data frame for this volume. Called on the data channel's event loop; the payload is owned by
     * the volume from here.
     *
     * @param type    the frame type
     * @param payload the payload after the volume's name or tag
     */
    void onFrame(FrameType type, ByteBuf payload) {
        io.execute(() -> {
            try {
                if (peer == null) {
                    return;
                }
                handle(type, payload);
            } catch (ProtocolException e) {
                // The rest of the stream cannot be trusted: drop the session; unacknowledged writes
                // fall back to the bitmap, and the sync is planned afresh on the next session.
                LOG.log(Level.WARNING, "volume {0}: bad {1} from the peer: {2}", spec.name(), type, e.getMessage());
                if (peer != null && !resetRequested) {
                    resetRequested = true;
                    peer.reset("volume " + spec.name() + ": bad " + type + ": " + e.getMessage());
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "volume " + spec.name() + ": handling " + type + " failed", e);
            } finally {
                payload.release();
            }
        });
    }

    private void handle(FrameType type, ByteBuf in) {
        switch (type) {
            case VOLUME_HELLO -> onHello(in);
            case SYNC_PLAN -> onPlan(in);
            case BITMAP_WORDS -> onBitmapWords(in);
            case WRITE -> onWrite(in);
            case ZEROES -> onZeroes(in);
            case FLUSH -> onFlush(in);
            case ACK -> onAck(in);
            case RESYNC_DATA -> onResyncData(in);
            case RESYNC_ACK -> onResyncAck(in);
            case RESYNC_DONE -> onResyncDone(in);
            case VERIFY_REQUEST -> onVerifyRequest(in);
            case VERIFY_DIGESTS -> onVerifyDigests(in);
            case READ_REQUEST -> onReadRequest(in);
            case READ_REPLY -> onReadReply(in);
            default -> throw new ProtocolException("unexpected " + type + " on the data channel");
        }
    }

    /** The peer's description of its copy; the primary plans from it. */
    private void onHello(ByteBuf in) {
        DataCodec.readName(in);
        DataCodec.need(in, 12, "size");
        long size = in.readLong();
        int peerBlock = in.readInt();
        Generation generation = DataCodec.readGeneration(in);
        DataCodec.need(in, 9, "flags");
        int flags = in.readUnsignedByte();
        in.readLong();
        peerGeneration = generation;
        peerConsistent = (flags & 1) != 0 && (flags & 2) == 0;
        boolean peerPrimary = (flags & 4) != 0;
        if (!host.primary()) {
            if (peerPrimary) {
                // The primary asks for this copy's description to plan from.
                sendHello();
            }
            return;
        }
        if (peerPrimary) {
            LOG.log(Level.WARNING, "volume {0}: the peer says it is primary too; not planning", spec.name());
            return;
        }
        if (planned) {
            return;
        }
        if (size != spec.sizeBytes() || peerBlock != blockSize) {
            LOG.log(Level.ERROR, "volume {0}: the peer's copy is {1} bytes with {2}-byte blocks, this one {3}/{4}; "
                    + "not replicating", spec.name(), size, peerBlock, spec.sizeBytes(), blockSize);
            splitDecision = null;
            transition(ReplicationState.SPLIT_BRAIN, "the copies differ in size");
            return;
        }
        // Decided from the generations even when this disk failed: its metadata still says which
        // copy the bitmap describes. A failed disk is never a resync source (onBitmapWords), so a
        // peer whose copy is not that one (FULL: a blank replacement, or older than the bitmap can
        // say) has every block marked and unreadable, rather than served as current.
        SyncDecision decision = SyncDecision.decide(meta.generation(), generation);
        if (!peerConsistent && (decision == SyncDecision.IN_SYNC)) {
            decision = SyncDecision.BITMAP;
        }
        if (decision == SyncDecision.IN_SYNC && meta.generation().current() == Generation.ZERO) {
            // Two empty copies: give the pair a generation of its own, so that a blank replacement
            // disk (generation ZERO) is never taken for a copy in sync with written data.
            writeMeta(meta.withGeneration(new Generation(RANDOM.nextLong() | 1, 0, meta.generation().history())));
        }
        tag = localTag;
        planned = true;
        ByteBuf fields = DataCodec.fields(peer.allocator());
        DataCodec.writeName(fields, spec.name());
        fields.writeInt(tag).writeByte(decision.code());
        DataCodec.writeGeneration(fields, meta.generation());
        peer.send(DataCodec.frame(peer.allocator(), FrameType.SYNC_PLAN, fields, null));
        host.audit("sync-plan", "volume " + spec.name() + ": this " + meta.generation() + ", peer " + generation,
                decision.name());
        switch (decision) {
            case IN_SYNC, BITMAP, FULL -> {
                resync = new Resync(decision == SyncDecision.FULL);
                // The backup sends its own dirty bits next; the resync starts once they are merged.
            }
            default -> {
                splitDecision = decision;
                transition(ReplicationState.SPLIT_BRAIN, "generations say " + decision + ": this copy "
                        + meta.generation() + ", the peer's " + generation + "; the operator must choose which to keep");
            }
        }
    }

    /** The backup learns the plan. */
    private void onPlan(ByteBuf in) {
        DataCodec.readName(in);
        DataCodec.need(in, 5, "tag");
        tag = in.readInt();
        int code = in.readUnsignedByte();
        SyncDecision decision = SyncDecision.fromCode(code);
        if (decision == null) {
            throw new ProtocolException("unknown sync decision " + code);
        }
        peerGeneration = DataCodec.readGeneration(in);
        planned = true;
        switch (decision) {
            case IN_SYNC, BITMAP, FULL -> {
                if (decision != SyncDecision.IN_SYNC || outOfSync.cardinality() > 0 || !meta.consistent()) {
                    writeMeta(meta.withConsistent(false));
                }
                sendBitmap();
            }
            default -> transition(ReplicationState.SPLIT_BRAIN, "the primary found " + decision + ": its copy "
                    + peerGeneration + ", this one " + meta.generation() + "; the operator must choose which to keep");
        }
        refreshDataState();
    }

    private void sendBitmap() {
        long[] words = outOfSyncWords();
        int chunk = 64 * 1024;
        int first = 0;
        do {
            int count = Math.min(chunk, words.length - first);
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeInt(first).writeByte(first + count >= words.length ? 1 : 0).writeInt(count);
            for (int i = first; i < first + count; i++) {
                fields.writeLong(words[i]);
            }
            peer.send(DataCodec.frame(peer.allocator(), FrameType.BITMAP_WORDS, fields, null));
            first += count;
        } while (first < words.length);
        // This copy's own dirty bits are now the primary's to resend too. They stay here (and in
        // this copy's bitmap file) until the resync completes, in case the primary fails first.
        transition(ReplicationState.SYNC_TARGET, "receiving the blocks this copy lacks");
    }

    private long[] outOfSyncWords() {
        long[] copy = new long[(int) ((outOfSync.blocks() + 63) >>> 6)];
        for (long block = outOfSync.nextSet(0); block >= 0; block = outOfSync.nextSet(block + 1)) {
            copy[(int) (block >>> 6)] |= 1L << block;
        }
        return copy;
    }

    /** The primary merges the backup's dirty bits, then resyncs. */
    private void onBitmapWords(ByteBuf in) {
        DataCodec.need(in, 13, "bitmap header");
        in.readInt();
        int first = in.readInt();
        boolean last = in.readUnsignedByte() == 1;
        int count = in.readInt();
        DataCodec.need(in, count * 8, "bitmap words");
        if (resync == null) {
            return;
        }
        long[] words = new long[(int) ((outOfSync.blocks() + 63) >>> 6)];
        for (int i = 0; i < count && first + i < words.length; i++) {
            words[first + i] = in.readLong();
        }
        outOfSync.or(words);
        if (last) {
            if (resync.full) {
                outOfSync.setAll();
            }
            dirtyBytes = outOfSync.dirtyBytes();
            try {
                // The backup's dirty bits live here now: make them survive a crash of this node.
                bitmapFile.writeAll();
            } catch (IOException e) {
                failLocal("bitmap: " + e.getMessage());
                return;
            }
            if (localFailed) {
                // A failed disk is never a resync source: the peer's copy is served as it is, and any
                // block it lacks stays marked, so that reading it fails instead of returning old data.
                resync = null;
                if (outOfSync.dirtyBytes() == 0) {
                    // The peer's copy lacks nothing: it is complete, and it learns so as after any
                    // resync (up to date, so that rule 5's failover can hand it the primary role).
                    // The metadata may sit on the failed disk: if it cannot be written, the peer is
                    // not told, and stays a sync target as before.
                    try {
                        sendResyncDone();
                        transition(ReplicationState.SYNCED, "the local disk failed; the peer's copy is complete: "
                                + "reads and writes go to it");
                        return;
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "volume {0}: cannot record that the peer''s copy is complete: {1}",
                                spec.name(), e.getMessage());
                    }
                }
                LOG.log(Level.WARNING, "volume {0}: the local disk failed; serving the peer''s copy, in which {1} bytes "
                        + "are unavailable", spec.name(), outOfSync.dirtyBytes());
                transition(ReplicationState.SYNCED, "the local disk failed: reads and writes go to the peer's copy");
                return;
            }
            resync.start(outOfSync.dirtyBytes());
            transition(ReplicationState.SYNC_SOURCE, "sending " + outOfSync.dirtyBytes() + " bytes of out-of-sync blocks");
            pumpResync();
        }
    }

    // --- replicated writes on the backup

    private void onWrite(ByteBuf in) {
        DataCodec.need(in, 21, "write header");
        in.readInt();
        long seq = in.readLong();
        long offset = in.readLong();
        int flags = in.readUnsignedByte();
        if (offset < 0 || offset + in.readableBytes() > spec.sizeBytes()) {
            throw new ProtocolException("write beyond the volume");
        }
        boolean ok = logApplied(offset, in.readableBytes());
        if (ok && !localFailed) {
            try {
                writeTo(offset, in);
                if ((flags & DataCodec.FUA) != 0 && seq != 0) {
                    store.sync();
                }
            } catch (IOException e) {
                failLocal("replicated write at " + offset + ": " + e.getMessage());
                ok = false;
            }
        } else {
            ok = false;
        }
        if (seq != 0) {
            ack(seq, ok);
        }
    }

    private void onZeroes(ByteBuf in) {
        DataCodec.need(in, 29, "zeroes");
        in.readInt();
        long seq = in.readLong();
        long offset = in.readLong();
        long length = in.readLong();
        int flags = in.readUnsignedByte();
        if (offset < 0 || length < 0 || offset + length > spec.sizeBytes()) {
            throw new ProtocolException("zeroes beyond the volume");
        }
        boolean ok = !localFailed && logApplied(offset, length);
        if (ok) {
            try {
                store.writeZeroes(offset, length);
                if ((flags & DataCodec.FUA) != 0) {
                    store.sync();
                }
            } catch (IOException e) {
                failLocal("replicated zeroes at " + offset + ": " + e.getMessage());
                ok = false;
            }
        }
        ack(seq, ok);
    }

    private void onFlush(ByteBuf in) {
        DataCodec.need(in, 12, "flush");
        in.readInt();
        long seq = in.readLong();
        boolean ok = !localFailed;
        if (ok) {
            try {
                store.sync();
            } catch (IOException e) {
                failLocal("replicated flush: " + e.getMessage());
                ok = false;
            }
        }
        ack(seq, ok);
    }

    private void ack(long seq, boolean ok) {
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag).writeLong(seq).writeByte(ok ? 0 : 1);
        peer.send(DataCodec.frame(peer.allocator(), FrameType.ACK, fields, null));
    }

    /** The primary learns the backup applied a write. */
    private void onAck(ByteBuf in) {
        DataCodec.need(in, 13, "ack");
        in.readInt();
        long seq = in.readLong();
        boolean ok = in.readUnsignedByte() == 0;
        Pending op = pending.get(seq);
        if (op == null) {
            return;
        }
        if (!ok) {
            // The backup's disk failed: this write is not there; track it as out of sync.
            LOG.log(Level.WARNING, "volume {0}: the peer could not apply a write; tracking it as out of sync",
                    spec.name());
            if (op.length > 0) {
                outOfSync.set(outOfSync.firstBlock(op.offset), outOfSync.endBlock(op.offset, op.length));
                dirtyBytes = outOfSync.dirtyBytes();
            }
            if (localFailed) {
                pending.remove(seq);
                unpin(op);
                op.future.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume "
                        + spec.name() + ": neither copy could be written"));
                return;
            }
            op.remote = true;
            orphan(List.of(op));
            if (state == ReplicationState.SYNCED || state == ReplicationState.SYNC_SOURCE) {
                // Its disk failed: stop sending it writes it cannot apply, until its copy is replaced.
                abandonResync();
                transition(ReplicationState.DEGRADED, "the peer's disk failed: it could not apply a write");
                refreshDataState();
            }
            return;
        } else if (op.length > 0 && (state == ReplicationState.SYNC_SOURCE || localFailed)) {
            // A block the resync had still to send, entirely rewritten by this write, is now in sync.
            long from = (op.offset + blockSize - 1) / blockSize;
            long to = (op.offset + op.length) / blockSize;
            if (to > from) {
                outOfSync.clear(from, to);
                dirtyBytes = outOfSync.dirtyBytes();
            }
        }
        op.remote = true;
        maybeComplete(op);
    }

    // ------------------------------------------------------------------------------------------
    // Resync: the primary sends, in disk order, every block the backup lacks; in the same stream
    // as new writes, so that no resync run can overtake a newer write.

    private final class Resync {
        final boolean full;
        long total;
        long done;
        long inFlight;
        long cursor;
        long startedNanos;
        double rate;
        long lastProgressNanos;
        long lastProgressDone;
        boolean scheduled;

        Resync(boolean full) {
            this.full = full;
        }

        void start(long totalBytes) {
            total = totalBytes;
            startedNanos = host.nanoTime();
            lastProgressNanos = startedNanos;
            publish();
        }

        void publish() {
            // Blocks marked since the start are added to the total, so that the bytes done never
            // pass it.
            total = Math.max(total, done + inFlight + outOfSync.dirtyBytes());
            long now = host.nanoTime();
            long elapsed = now - lastProgressNanos;
            if (elapsed > 0) {
                double instant = (done - lastProgressDone) * 1e9 / elapsed;
                rate = rate == 0 ? instant : 0.7 * rate + 0.3 * instant;
                lastProgressNanos = now;
                lastProgressDone = done;
            }
            long remaining = Math.max(0, total - done);
            long eta = rate > 0 ? (long) (remaining / rate * 1e9) : -1;
            progress = new ResyncProgress(total, done, (long) rate, eta);
            host.resyncProgress(spec.name(), progress);
        }
    }

    private void pumpResync() {
        Resync current = resync;
        if (current == null || state != ReplicationState.SYNC_SOURCE || peer == null) {
            return;
        }
        current.scheduled = false;
        long rate = host.resyncRateBytesPerSecond();
        while (current.inFlight < RESYNC_WINDOW && peer.writable()) {
            long block = outOfSync.nextSet(current.cursor);
            if (block < 0 && current.cursor > 0) {
                current.cursor = 0;
                block = outOfSync.nextSet(0);
            }
            if (block < 0) {
                break;
            }
            long end = Math.min(outOfSync.nextClear(block), block + RESYNC_RUN / blockSize);
            long offset = block * blockSize;
            int length = (int) Math.min((end - block) * blockSize, spec.sizeBytes() - offset);
            current.cursor = end;
            if (!sendResyncRun(offset, length)) {
                return;
            }
            current.inFlight += length;
            // Until its ack, the run is neither counted done nor resent.
            outOfSync.clear(block, end);
            inFlightResync.put(offset, (long) length);
            if (rate > 0) {
                long delayNanos = (long) (length * 1e9 / rate);
                current.scheduled = true;
                io.after(delayNanos, this::pumpResync);
                return;
            }
        }
        if (current.inFlight == 0 && outOfSync.cardinality() == 0) {
            finishResync();
        } else if (!current.scheduled && current.inFlight < RESYNC_WINDOW && !peer.writable()) {
            current.scheduled = true;
            io.after(TimeUnit.MILLISECONDS.toNanos(5), this::pumpResync);
        }
    }

    private final Map<Long, Long> inFlightResync = new HashMap<>();

    /** Runs sent and not acknowledged may not have arrived: they are out of sync again. */
    private void abandonResync() {
        for (Map.Entry<Long, Long> run : inFlightResync.entrySet()) {
            outOfSync.set(run.getKey() / blockSize, (run.getKey() + run.getValue() + blockSize - 1) / blockSize);
        }
        inFlightResync.clear();
        resync = null;
        dirtyBytes = outOfSync.dirtyBytes();
    }

    private boolean sendResyncRun(long offset, int length) {
        ByteBuf data = peer.allocator().directBuffer(length, length);
        try {
            store.read(offset, data.nioBuffer(0, length));
            data.writerIndex(length);
        } catch (IOException e) {
            data.release();
            failLocal("resync read at " + offset + ": " + e.getMessage());
            resync = null;
            return false;
        }
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag).writeLong(offset);
        if (allZero(data)) {
            data.release();
            fields.writeByte(1).writeInt(length);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.RESYNC_DATA, fields, null));
            resyncBytesSent.addAndGet(fields.readableBytes());
        } else {
            fields.writeByte(0);
            resyncBytesSent.addAndGet(length);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.RESYNC_DATA, fields, data));
        }
        return true;
    }

    private static boolean allZero(ByteBuf data) {
        int index = data.readerIndex();
        int end = data.writerIndex();
        for (; index + 8 <= end; index += 8) {
            if (data.getLong(index) != 0) {
                return false;
            }
        }
        for (; index < end; index++) {
            if (data.getByte(index) != 0) {
                return false;
            }
        }
        return true;
    }

    private void onResyncData(ByteBuf in) {
        DataCodec.need(in, 13, "resync header");
        in.readInt();
        long offset = in.readLong();
        boolean zero = in.readUnsignedByte() == 1;
        int length;
        boolean ok = !localFailed;
        if (zero) {
            DataCodec.need(in, 4, "resync length");
            length = in.readInt();
        } else {
            length = in.readableBytes();
        }
        if (offset < 0 || length < 0 || offset + length > spec.sizeBytes()) {
            throw new ProtocolException("resync run beyond the volume");
        }
        ok = ok && logApplied(offset, length);
        if (ok) {
            try {
                if (zero) {
                    store.writeZeroes(offset, length);
                } else {
                    writeTo(offset, in);
                }
                resyncBytesReceived.addAndGet(length);
            } catch (IOException e) {
                failLocal("resync write at " + offset + ": " + e.getMessage());
                ok = false;
            }
        }
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag).writeLong(offset).writeInt(length).writeByte(ok ? 0 : 1);
        peer.send(DataCodec.frame(peer.allocator(), FrameType.RESYNC_ACK, fields, null));
    }

    private void onResyncAck(ByteBuf in) {
        DataCodec.need(in, 17, "resync ack");
        in.readInt();
        long offset = in.readLong();
        int length = in.readInt();
        boolean ok = in.readUnsignedByte() == 0;
        Resync current = resync;
        Long sent = inFlightResync.remove(offset);
        if (current == null || sent == null) {
            return;
        }
        current.inFlight -= sent;
        if (ok) {
            current.done += sent;
        } else {
            // The peer's disk failed: resending would fail forever. Stop replicating to it and track
            // every write until its copy is replaced (a new copy gets a full resync).
            outOfSync.set(offset / blockSize, (offset + length + blockSize - 1) / blockSize);
            LOG.log(Level.WARNING, "volume {0}: the peer could not apply resync data; its disk failed. Replication "
                    + "to it stops until its copy is replaced", spec.name());
            abandonResync();
            transition(ReplicationState.DEGRADED, "the peer's disk failed during the resync");
            refreshDataState();
            return;
        }
        dirtyBytes = outOfSync.dirtyBytes();
        if (host.nanoTime() - current.lastProgressNanos > 200_000_000L) {
            current.publish();
        }
        if (!current.scheduled) {
            pumpResync();
        }
    }

    private void finishResync() {
        Resync finished = resync;
        resync = null;
        sendResyncDone();
        finished.done = finished.total;
        finished.publish();
        long seconds = Math.max(1, (host.nanoTime() - finished.startedNanos) / 1_000_000L);
        host.audit("resync", "volume " + spec.name() + ": " + finished.total + " bytes in " + seconds + " ms, "
                + resyncBytesSent.get() + " bytes sent in all", "done");
        try {
            bitmapFile.writeAll();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "volume {0}: cannot persist the bitmap: {1}", spec.name(), e.getMessage());
        }
        transition(ReplicationState.SYNCED, "resync complete");
    }

    /** The copies are in sync: this side's generation says so, and the peer adopts it. */
    private void sendResyncDone() {
        Generation synced = meta.generation().inSync();
        writeMeta(meta.withGeneration(synced));
        degradedFence = null;
        degradedFenceStarted = false;
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag);
        DataCodec.writeGeneration(fields, synced);
        peer.send(DataCodec.frame(peer.allocator(), FrameType.RESYNC_DONE, fields, null));
    }

    private void onResyncDone(ByteBuf in) {
        DataCodec.need(in, 4, "resync done");
        in.readInt();
        Generation source = DataCodec.readGeneration(in);
        try {
            store.sync();
        } catch (IOException e) {
            failLocal("sync after resync: " + e.getMessage());
            return;
        }
        writeMeta(meta.withGeneration(Generation.adoptedFrom(source)).withConsistent(true));
        upToDateHere = true;
        outOfSync.clearAll();
        dirtyBytes = 0;
        try {
            bitmapFile.writeAll();
            activityLog.clear();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "volume {0}: cannot persist the bitmap: {1}", spec.name(), e.getMessage());
        }
        transition(ReplicationState.SYNCED, "resync complete; this copy holds the primary's generation " + source);
        refreshDataState();
    }

    // ------------------------------------------------------------------------------------------
    // Remote reads (rule 5) on the backup's side

    private void onReadRequest(ByteBuf in) {
        DataCodec.need(in, 24, "read request");
        in.readInt();
        long id = in.readLong();
        long offset = in.readLong();
        int length = in.readInt();
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag).writeLong(id);
        if (localFailed || offset < 0 || length < 0 || length > MAX_CHUNK || offset + length > spec.sizeBytes()) {
            fields.writeByte(1);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.READ_REPLY, fields, null));
            return;
        }
        ByteBuf data = peer.allocator().directBuffer(length, length);
        try {
            store.read(offset, data.nioBuffer(0, length));
            data.writerIndex(length);
            fields.writeByte(0);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.READ_REPLY, fields, data));
        } catch (IOException e) {
            data.release();
            failLocal("read for the peer at " + offset + ": " + e.getMessage());
            fields.writeByte(1);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.READ_REPLY, fields, null));
        }
    }

    private void onReadReply(ByteBuf in) {
        DataCodec.need(in, 13, "read reply");
        in.readInt();
        long id = in.readLong();
        boolean ok = in.readUnsignedByte() == 0;
        RemoteRead waiting = remoteReads.remove(id);
        if (waiting == null) {
            return;
        }
        CompletableFuture<ByteBuf> read = waiting.future();
        if (!ok) {
            read.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "volume " + spec.name()
                    + ": neither copy could be read"));
        } else if (!host.mayServe()) {
            read.completeExceptionally(notServing());
        } else {
            read.complete(in.retainedSlice());
        }
    }

    // ------------------------------------------------------------------------------------------
    // Online verify: digests of both copies taken at the same point of the write stream

    private final class Verify {
        final CompletableFuture<VerifyReport> result = new CompletableFuture<>();
        final boolean mark;
        final long startedNanos = host.nanoTime();
        final Map<Long, long[]> local = new HashMap<>();
        final List<Long> mismatches = new ArrayList<>();
        long mismatchCount;
        long nextBlock;
        long compared;
        int outstanding;

        Verify(boolean mark) {
            this.mark = mark;
        }

        void fail(String why) {
            result.completeExceptionally(new VolumeException(VolumeException.Reason.IO_ERROR, "verify of volume "
                    + spec.name() + " stopped: " + why));
            verify = null;
        }
    }

    /**
     * Compares both copies block by block, in the background.
     *
     * @param markForResync whether to mark mismatches for resync
     * @return the report
     */
    public CompletableFuture<VerifyReport> verify(boolean markForResync) {
        CompletableFuture<VerifyReport> result = new CompletableFuture<>();
        io.execute(() -> {
            if (!host.primary() || !replicating() || state != ReplicationState.SYNCED || localFailed) {
                // Not during a resync either: its blocks differ until it ends, and the marks are
                // written to the bitmap file, which must keep the bits of runs in flight.
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "verify needs this "
                        + "node to be the primary with the peer connected and in sync (volume " + spec.name() + " is "
                        + state + ")"));
                return;
            }
            if (verify != null) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "a verify of volume "
                        + spec.name() + " is already running"));
                return;
            }
            verify = new Verify(markForResync);
            verify.result.whenComplete((report, error) -> {
                if (error != null) {
                    result.completeExceptionally(error);
                } else {
                    result.complete(report);
                }
            });
            pumpVerify();
        });
        return result;
    }

    private void pumpVerify() {
        Verify current = verify;
        if (current == null || peer == null) {
            return;
        }
        while (current.outstanding < 4 && current.nextBlock < outOfSync.blocks()) {
            long first = current.nextBlock;
            int count = (int) Math.min(VERIFY_BLOCKS, outOfSync.blocks() - first);
            try {
                current.local.put(first, digests(first, count));
            } catch (IOException e) {
                failLocal("verify read: " + e.getMessage());
                current.fail("the local disk failed");
                return;
            }
            ByteBuf fields = DataCodec.fields(peer.allocator());
            fields.writeInt(tag).writeLong(first).writeLong(first).writeInt(count);
            peer.send(DataCodec.frame(peer.allocator(), FrameType.VERIFY_REQUEST, fields, null));
            current.nextBlock += count;
            current.outstanding++;
        }
        if (current.outstanding == 0 && current.nextBlock >= outOfSync.blocks()) {
            VerifyReport report = new VerifyReport(spec.name(), current.compared, blockSize,
                    current.mismatches, current.mismatchCount, current.mark, host.nanoTime() - current.startedNanos);
            lastVerify = report;
            verify = null;
            host.audit("verify", "volume " + spec.name() + ": " + current.compared + " blocks compared",
                    current.mismatchCount + " differ" + (current.mark && current.mismatchCount > 0
                            ? ", marked for resync" : ""));
            if (current.mark && current.mismatchCount > 0 && state == ReplicationState.SYNCED) {
                resync = new Resync(false);
                resync.start(outOfSync.dirtyBytes());
                transition(ReplicationState.SYNC_SOURCE, "verify found " + current.mismatchCount + " differing blocks");
                pumpResync();
            }
            current.result.complete(report);
        }
    }

    private long[] digests(long first, int count) throws IOException {
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        long[] result = new long[count];
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (int i = 0; i < count; i++) {
            block.clear();
            long offset = (first + i) * blockSize;
            block.limit((int) Math.min(blockSize, spec.sizeBytes() - offset));
            store.read(offset, block);
            block.flip();
            sha.update(block);
            result[i] = ByteBuffer.wrap(sha.digest()).getLong();
        }
        return result;
    }

    private void onVerifyRequest(ByteBuf in) {
        DataCodec.need(in, 24, "verify request");
        in.readInt();
        long id = in.readLong();
        long first = in.readLong();
        int count = in.readInt();
        if (count < 0 || count > 4096 || first < 0 || first + count > outOfSync.blocks()) {
            throw new ProtocolException("verify request out of range");
        }
        ByteBuf fields = DataCodec.fields(peer.allocator());
        fields.writeInt(tag).writeLong(id).writeLong(first);
        try {
            long[] digests = localFailed ? new long[0] : digests(first, count);
            fields.writeInt(digests.length);
            for (long digest : digests) {
                fields.writeLong(digest);
            }
        } catch (IOException e) {
            failLocal("verify read: " + e.getMessage());
            fields.writeInt(0);
        }
        peer.send(DataCodec.frame(peer.allocator(), FrameType.VERIFY_DIGESTS, fields, null));
    }

    private void onVerifyDigests(ByteBuf in) {
        DataCodec.need(in, 24, "verify digests");
        in.readInt();
        in.readLong();
        long first = in.readLong();
        int count = in.readInt();
        DataCodec.need(in, count * 8, "digests");
        Verify current = verify;
        if (current == null) {
            return;
        }
        long[] local = current.local.remove(first);
        current.outstanding--;
        if (local == null || count != local.length) {
            current.fail("the peer could not compute digests");
            return;
        }
        boolean marked = false;
        for (int i = 0; i < count; i++) {
            if (in.readLong() != local[i]) {
                current.mismatchCount++;
                if (current.mismatches.size() < 10_000) {
                    current.mismatches.add(first + i);
                }
                if (current.mark) {
                    outOfSync.set(first + i, first + i + 1);
                    marked = true;
                }
            }
        }
        if (marked) {
            // The blocks differ outside the activity log's extents: only the bitmap file remembers
            // them across a crash of this node.
            try {
                bitmapFile.write(first, first + count);
            } catch (IOException e) {
                current.fail("cannot record the differing blocks in the bitmap: " + e.getMessage());
                return;
            }
        }
        current.compared += count;
        dirtyBytes = outOfSync.dirtyBytes();
        pumpVerify();
    }

    // ------------------------------------------------------------------------------------------
    // Split brain

    /**
     * Resolves a split brain: this node's copy is kept or discarded. Discarding the backup's copy
     * resyncs it from the primary; discarding the primary's copy is refused here (switch the
     * primary role first, so that the copy to keep is the primary's).
     *
     * @param discardLocal true to discard this node's changes
     * @return completes when the resync has started
     */
    CompletableFuture<Void> resolveSplitBrain(boolean discardLocal) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        io.execute(() -> {
            if (state != ReplicationState.SPLIT_BRAIN || peer == null) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "volume "
                        + spec.name() + " is not in split brain with its peer connected (it is " + state + ")"));
                return;
            }
            if (discardLocal && host.primary()) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "discarding the "
                        + "primary's copy of " + spec.name() + ": hand the primary role to the peer first (switchover),"
                        + " then discard this node's copy as the backup's"));
                return;
            }
            if (!host.primary()) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "volume "
                        + spec.name() + ": resolve a split brain on the primary, which drives the resync"
                        + (discardLocal ? "" : "; to keep this node's copy, hand the primary role to it first")));
                return;
            }
            if (splitDecision == null) {
                result.completeExceptionally(new VolumeException(VolumeException.Reason.INVALID, "volume "
                        + spec.name() + ": the two copies differ in size; neither can be resynchronised onto the "
                        + "other. Recreate the backup's copy (remove its files) to start a full resync"));
                return;
            }
            // Both bitmaps together cover every block either side changed since they diverged, when
            // they diverged from the same generation; otherwise nothing bounds the difference.
            SyncDecision resolution = splitDecision == SyncDecision.SPLIT_BRAIN
                    || (splitDecision == SyncDecision.PRIMARY_BEHIND && peerGeneration != null
                    && peerGeneration.bitmap() != 0 && peerGeneration.bitmap() == meta.generation().current())
                    ? SyncDecision.BITMAP : SyncDecision.FULL;
            host.audit("split-brain-resolved", "volume " + spec.name() + ": the backup's changes are discarded ("
                    + splitDecision + ", " + resolution + " resync)", "resyncing");
            tag = localTag;
            planned = true;
            resync = new Resync(resolution == SyncDecision.FULL);
            ByteBuf fields = DataCodec.fields(peer.allocator());
            DataCodec.writeName(fields, spec.name());
            fields.writeInt(tag).writeByte(resolution.code());
            DataCodec.writeGeneration(fields, meta.generation());
            peer.send(DataCodec.frame(peer.allocator(), FrameType.SYNC_PLAN, fields, null));
            splitDecision = null;
            transition(ReplicationState.CONNECTED, "split brain resolved: the backup's copy is discarded");
            result.complete(null);
        });
        return result;
    }

    // ------------------------------------------------------------------------------------------

    private void transition(ReplicationState next, String reason) {
        ReplicationState previous = state;
        if (previous == next) {
            return;
        }
        if (!LEGAL.get(previous).contains(next)) {
            throw new IllegalStateException("volume " + spec.name() + ": illegal replication change " + previous
                    + " -> " + next + " (" + reason + ")");
        }
        state = next;
        if (next == ReplicationState.SYNCED && host.primary()) {
            degradedFence = null;
            degradedFenceStarted = false;
        }
        if (next == ReplicationState.SYNCED) {
            upToDateHere = true;
            outdated = false;
        }
        LOG.log(next == ReplicationState.SPLIT_BRAIN ? Level.ERROR : Level.INFO, "volume {0}: {1} -> {2}: {3}",
                spec.name(), previous, next, reason);
        host.stateChanged(spec.name(), previous, next, reason);
        refreshDataState();
    }

    private void refreshDataState() {
        DataState next;
        if (localFailed) {
            next = DataState.FAILED;
        } else if (!meta.consistent() || state == ReplicationState.SYNC_TARGET) {
            next = DataState.INCONSISTENT;
        } else if (host.primary()) {
            next = DataState.UP_TO_DATE;
        } else if (upToDateHere && (state == ReplicationState.SYNCED || state == ReplicationState.DEGRADED
                || state == ReplicationState.CONNECTED)) {
            next = DataState.UP_TO_DATE;
        } else if (state == ReplicationState.STANDALONE) {
            next = DataState.UP_TO_DATE;
        } else {
            next = DataState.CONSISTENT;
        }
        dataState = next;
    }

    /**
     * Waits for the volume's queued work, then persists its state for a clean restart.
     */
    @Override
    public void close() {
        if (ioThread == null) {
            throw new IllegalStateException("volume " + spec.name() + " runs on a given scheduler: drop it with the "
                    + "scheduler instead of closing it");
        }
        closing = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                for (Pending op : pending.values()) {
                    op.future.completeExceptionally(new VolumeException(VolumeException.Reason.NOT_SERVING,
                            "volume " + spec.name() + " is closing"));
                }
                pending.clear();
                abandonResync();
                if (!localFailed) {
                    store.sync();
                    bitmapFile.writeAll();
                    activityLog.clear();
                    writeMeta(meta.withCleanShutdown(true));
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "volume {0}: unclean close: {1}", spec.name(), e.getMessage());
            } finally {
                done.complete(null);
            }
        });
        done.orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
        ioThread.shutdown();
        try {
            ioThread.awaitTermination(5, TimeUnit.SECONDS);
            store.close();
            bitmapFile.close();
            activityLog.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "volume {0}: closing its files: {1}", spec.name(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
