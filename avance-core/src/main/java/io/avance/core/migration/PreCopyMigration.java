package io.avance.core.migration;

import io.avance.api.NodeId;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.MigrationProgressed;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.MigrationException;
import io.avance.api.migration.MigrationOptions;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationProgress;
import io.avance.api.migration.MigrationReport;
import io.avance.core.vm.VmSpecCodec;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The source side of one live migration: iterative pre-copy, then stop-and-copy, then the switch.
 *
 * <pre>
 *   PREPARING --target accepts--&gt; PRE_COPY (round 1: every non-zero page; then the dirty ones)
 *                                    |  the rest fits the pause target, or the round limit
 *                                    |  [evacuation: wait, still copying, until every VM is there]
 *                                    v
 *                                 STOP_AND_COPY (paused; last pages; device state; target prepared)
 *                                    |  [evacuation: wait until this node has handed its role over]
 *                                    v
 *                                 ACTIVATING (told the target to run it; this copy never resumes)
 *                                    v
 *                                 COMPLETED (the target runs it; this copy destroyed)
 *   before ACTIVATING: cancel or failure --&gt; CANCELLED / FAILED, the VM resumed here
 * </pre>
 *
 * <p>All the work runs on the migration's own thread; replies from the target complete futures it
 * waits on. The one rule that keeps two copies from ever running: this side resumes its copy only
 * before it has sent {@code MIGRATE_ACTIVATE}; after that it destroys it whatever happens, and if
 * the target never confirms, the primary restarts the VM from its disks.
 */
final class PreCopyMigration extends AbstractOutgoingMigration {

    private static final Logger LOG = System.getLogger(PreCopyMigration.class.getName());
    /** How long the target may take to answer a step (accept, a round, prepared, done). */
    private static final long REPLY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** How long the channel may stay full before the migration gives up. */
    private static final long STALL_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private static final Map<MigrationPhase, Set<MigrationPhase>> LEGAL = new EnumMap<>(MigrationPhase.class);

    static {
        LEGAL.put(MigrationPhase.PREPARING, EnumSet.of(MigrationPhase.PRE_COPY, MigrationPhase.CANCELLED,
                MigrationPhase.FAILED));
        LEGAL.put(MigrationPhase.PRE_COPY, EnumSet.of(MigrationPhase.STOP_AND_COPY, MigrationPhase.CANCELLED,
                MigrationPhase.FAILED));
        LEGAL.put(MigrationPhase.STOP_AND_COPY, EnumSet.of(MigrationPhase.ACTIVATING, MigrationPhase.CANCELLED,
                MigrationPhase.FAILED));
        LEGAL.put(MigrationPhase.ACTIVATING, EnumSet.of(MigrationPhase.COMPLETED, MigrationPhase.FAILED));
        LEGAL.put(MigrationPhase.COMPLETED, EnumSet.noneOf(MigrationPhase.class));
        LEGAL.put(MigrationPhase.CANCELLED, EnumSet.noneOf(MigrationPhase.class));
        LEGAL.put(MigrationPhase.FAILED, EnumSet.noneOf(MigrationPhase.class));
    }

    private final MigrationOptions options;
    // The target's acknowledgement of the round under way, completed on the event loop.
    private volatile CompletableFuture<Void> roundAck = new CompletableFuture<>();
    private volatile int roundAwaited;

    private volatile String abortReason;
    private volatile int round;
    private volatile long pagesSent;
    private volatile long zeroPages;
    private volatile long dirtyPagesLeft;
    private long bandwidth;
    private long startedNanos;
    private long pausedAtNanos = Long.MIN_VALUE;
    private long pauseNanos;
    private boolean paused;
    private boolean activateSent;
    private boolean logging;
    /** When each step of the pause ended (nanos since the pause began), for the log. */
    private long lastPagesNanos;
    private long preparedNanos;
    private long switchNanos;

    PreCopyMigration(MigrationEngine engine, long id, VmSpec spec, NodeId source, NodeId target,
                     MigrationOptions options, OutgoingMigration.Listener listener) {
        super(engine, id, spec, source, target, listener, REPLY_TIMEOUT_NANOS);
        this.options = options;
    }

    @Override
    public MigrationProgress progress() {
        return new MigrationProgress(spec.name(), phase, round, bytesSent, pagesSent, zeroPages, dirtyPagesLeft,
                spec.memoryBytes());
    }

    @Override
    protected void onOtherReply(FrameType type, ByteBuf in) {
        if (type == FrameType.MIGRATE_ROUND_ACK) {
            MigrationCodec.need(in, 4, "round");
            int acked = in.readInt();
            if (acked == roundAwaited) {
                roundAck.complete(null);
            }
        }
    }

    @Override
    public void onAbort(String reason) {
        abortReason = reason;
        super.onAbort(reason);
    }

    @Override
    protected void wake(MigrationException cause) {
        super.wake(cause);
        roundAck.completeExceptionally(cause);
    }

    // ------------------------------------------------------------------------------------------
    // The migration's thread

    @Override
    protected void run() {
        startedNanos = engine.clock().nanoTime();
        Optional<String> failure = Optional.empty();
        MigrationPhase outcome = MigrationPhase.COMPLETED;
        try {
            engine.supervisor().setEvacuating(spec.name(), true);
            preCopy();
            stopAndCopy();
            if (!switchOver.get()) {
                throw new MigrationException("the switch was called off");
            }
            activate();
        } catch (Throwable e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            failure = Optional.of(cancelRequested ? "cancelled" : String.valueOf(cause.getMessage()));
            outcome = cancelRequested ? MigrationPhase.CANCELLED : MigrationPhase.FAILED;
            if (cause instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            giveUp(failure.get());
        }
        finish(outcome, failure);
    }

    private void preCopy() throws Exception {
        engine.host().audit("migration", spec.name() + " to " + target, "starting");
        send(FrameType.MIGRATE_BEGIN, fields -> {
            fields.writeLong(spec.memoryBytes()).writeInt(4096).writeByte(MigrationCodec.KIND_PRE_COPY);
            MigrationCodec.writeString(fields, VmSpecCodec.encode(spec), VmSpecCodec.MAX_BYTES);
        });
        await(accepted, "the target's answer");
        GuestMemory memory = adapter.guestMemory(spec.name());
        if (memory.pageSizeBytes() != 4096) {
            throw new MigrationException("page size " + memory.pageSizeBytes() + " is not supported (4096 only)");
        }
        transition(MigrationPhase.PRE_COPY, "the target accepted");
        dirty = new long[(int) ((memory.pageCount() + 63) >>> 6)];
        memory.startDirtyLogging();
        logging = true;
        this.memory = memory;
        memory.fetchAndClearDirtyPages(dirty);
        round = 1;
        sendRound(dirty, true);
        boolean converged = false;
        while (true) {
            checkCancelled();
            memory.fetchAndClearDirtyPages(dirty);
            long count = cardinality(dirty);
            dirtyPagesLeft = count;
            ConvergencePlanner.Next next = ConvergencePlanner.decide(count, memory.pageSizeBytes(), bandwidth,
                    options.pauseTarget().toNanos(), round, options.maxRounds());
            if (next == ConvergencePlanner.Next.STOP_AND_COPY) {
                if (!converged) {
                    converged = true;
                    if (listener != null) {
                        listener.onConverged(this);
                    }
                }
                if (release.isDone()) {
                    // The dirty pages just fetched are sent paused, with whatever the guest adds.
                    return;
                }
            }
            round++;
            sendRound(dirty, false);
            publishProgress();
        }
    }

    private GuestMemory memory;
    /** Pages known dirty and not yet sent; the last look of the pre-copy leaves its pages here. */
    private long[] dirty;

    private void stopAndCopy() throws Exception {
        checkCancelled();
        pausedAtNanos = engine.clock().nanoTime();
        adapter.pause(spec.name());
        paused = true;
        transition(MigrationPhase.STOP_AND_COPY, "paused after " + round + " rounds");
        // On top of the pages the last look found: fetching ORs into the bitmap.
        memory.fetchAndClearDirtyPages(dirty);
        round++;
        dirtyPagesLeft = cardinality(dirty);
        sendRound(dirty, false);
        lastPagesNanos = engine.clock().nanoTime() - pausedAtNanos;
        byte[] device = adapter.saveDeviceState(spec.name());
        ByteBuf state = engine.link().allocator().buffer(device.length);
        state.writeBytes(device);
        sendWithData(FrameType.MIGRATE_DEVICE, fields -> { }, state);
        bytesSent += device.length;
        memory.stopDirtyLogging();
        logging = false;
        dirtyPagesLeft = 0;
        await(prepared, "the target to hold the whole VM");
        preparedNanos = engine.clock().nanoTime() - pausedAtNanos;
        if (listener != null) {
            listener.onPrepared(this);
        }
    }

    private void activate() throws Exception {
        if (cancelRequested) {
            throw new MigrationException("cancelled");
        }
        // The point of no return: from here this copy never runs again.
        switchNanos = engine.clock().nanoTime() - pausedAtNanos;
        activateSent = true;
        transition(MigrationPhase.ACTIVATING, "the target may run it");
        send(FrameType.MIGRATE_ACTIVATE, fields -> { });
        try {
            await(done, "the target to run it");
        } finally {
            pauseNanos = engine.clock().nanoTime() - pausedAtNanos;
            destroyHere();
        }
    }

    /** Before the point of no return: tell the target, and run the VM here again. */
    private void giveUp(String why) {
        if (activateSent) {
            // The target may run it, or may not: never resume here. The primary restarts it from
            // its disks if the target did not take it.
            destroyHere();
            engine.supervisor().migratedAway(spec.name(), true, "migration to " + target + " ended uncertainly ("
                    + why + "); this copy is destroyed");
            return;
        }
        engine.sendControl(FrameType.MIGRATE_ABORT, id, fields -> MigrationCodec.writeString(fields, why,
                MigrationCodec.MAX_REASON));
        if (logging) {
            try {
                memory.stopDirtyLogging();
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "stop dirty logging", e);
            }
        }
        if (paused) {
            pauseNanos = engine.clock().nanoTime() - pausedAtNanos;
            try {
                adapter.resume(spec.name());
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "VM " + spec.name() + ": cannot resume after a failed migration", e);
            }
        }
        engine.supervisor().migratedAway(spec.name(), false, "migration to " + target + " did not complete ("
                + why + "); the VM runs here");
    }

    private void destroyHere() {
        try {
            adapter.destroy(spec.name());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "VM {0}: destroying the source copy failed: {1}", spec.name(), e.getMessage());
        }
    }

    private void finish(MigrationPhase outcome, Optional<String> failure) {
        if (!phase.terminal()) {
            transition(outcome, failure.orElse("the VM runs on " + target));
        }
        if (outcome == MigrationPhase.COMPLETED) {
            engine.supervisor().migratedAway(spec.name(), true, "migrated to " + target);
        }
        long total = engine.clock().nanoTime() - startedNanos;
        MigrationReport report = new MigrationReport(spec.name(), source, target, outcome, round, bytesSent, pagesSent,
                zeroPages, spec.memoryBytes(), total, pauseNanos, failure);
        engine.ended(this, outcome == MigrationPhase.COMPLETED, pauseNanos);
        engine.host().publish(new MigrationEnded(engine.wallClock().instant(), source, report));
        engine.host().audit("migration", spec.name() + " to " + target + ": " + round + " rounds, " + bytesSent
                + " bytes, paused " + pauseNanos / 1_000_000 + " ms", outcome.name().toLowerCase(java.util.Locale.ROOT)
                + failure.map(f -> ": " + f).orElse(""));
        LOG.log(outcome == MigrationPhase.COMPLETED ? Level.INFO : Level.WARNING,
                "migration of {0} to {1}: {2} after {3} ms, {4} rounds, {5} bytes, paused {6} ms (last pages by {7} ms, "
                        + "prepared by {8} ms, switch by {9} ms){10}", spec.name(), target, outcome, total / 1_000_000,
                round, bytesSent, pauseNanos / 1_000_000, lastPagesNanos / 1_000_000, preparedNanos / 1_000_000,
                switchNanos / 1_000_000, failure.map(f -> " (" + f + ")").orElse(""));
        if (listener != null) {
            listener.onEnded(this, report);
        }
        result.complete(report);
    }

    // ------------------------------------------------------------------------------------------
    // Pages

    /**
     * Sends the pages set in the bitmap, then clears it, and waits for the target to have applied
     * them, measuring the bandwidth. In the first round zero pages are skipped altogether: the
     * target's memory starts zeroed.
     */
    private void sendRound(long[] dirty, boolean first) throws Exception {
        long roundStart = engine.clock().nanoTime();
        long roundBytes = 0;
        int pageSize = memory.pageSizeBytes();
        long pageCount = memory.pageCount();
        ByteBufAllocator allocator = engine.link().allocator();
        long[] batch = new long[MigrationCodec.MAX_PAGES_PER_FRAME];
        long page = nextSet(dirty, 0, pageCount);
        while (page >= 0) {
            checkCancelledUnlessPaused();
            // Up to a frame's worth of dirty pages, wherever they are; consecutive ones are read
            // in one call.
            int count = 0;
            while (page >= 0 && count < batch.length) {
                batch[count++] = page;
                page = nextSet(dirty, page + 1, pageCount);
            }
            ByteBuf data = allocator.directBuffer(count * pageSize, count * pageSize);
            try {
                int i = 0;
                while (i < count) {
                    int run = 1;
                    while (i + run < count && batch[i + run] == batch[i] + run) {
                        run++;
                    }
                    memory.readPages(batch[i], run, data.nioBuffer(i * pageSize, run * pageSize));
                    i += run;
                }
                data.writerIndex(count * pageSize);
                roundBytes += sendPages(batch, count, data, first, pageSize);
            } finally {
                data.release();
            }
        }
        java.util.Arrays.fill(dirty, 0L);
        int thisRound = round;
        CompletableFuture<Void> ack = new CompletableFuture<>();
        roundAck = ack;
        roundAwaited = thisRound;
        send(FrameType.MIGRATE_ROUND_END, fields -> fields.writeInt(thisRound));
        await(ack, "the target to apply round " + thisRound);
        long took = Math.max(1, engine.clock().nanoTime() - roundStart);
        LOG.log(Level.DEBUG, "migration of {0}: round {1}: {2} bytes in {3} ms", spec.name(), thisRound, roundBytes,
                took / 1_000_000);
        // Rounds of a few pages measure latency, not bandwidth: keep the earlier estimate then.
        if (roundBytes >= (1 << 20) || bandwidth == 0) {
            bandwidth = (long) (roundBytes * 1e9 / took);
        }
    }

    /** Sends a batch of pages read into {@code data}: zero pages as markers, others as data. */
    private long sendPages(long[] pages, int count, ByteBuf data, boolean skipZeros, int pageSize) throws Exception {
        List<Long> dataPages = new ArrayList<>(count);
        List<Long> zeros = new ArrayList<>();
        CompositeByteBuf payload = engine.link().allocator().compositeBuffer(count);
        try {
            // Consecutive data pages of the batch go as one slice of the buffer they were read into.
            int runStart = -1;
            for (int i = 0; i <= count; i++) {
                boolean data0 = i < count && !isZero(data, i * pageSize, pageSize);
                if (data0) {
                    dataPages.add(pages[i]);
                    if (runStart < 0) {
                        runStart = i;
                    }
                    continue;
                }
                if (runStart >= 0) {
                    payload.addComponent(true, data.retainedSlice(runStart * pageSize, (i - runStart) * pageSize));
                    runStart = -1;
                }
                if (i < count) {
                    zeroPages++;
                    if (!skipZeros) {
                        zeros.add(pages[i]);
                    }
                }
            }
            if (dataPages.isEmpty() && zeros.isEmpty()) {
                return 0;
            }
            int thisRound = round;
            long bytes = payload.readableBytes();
            // Ownership of the payload passes to the frame (released by the channel, or on failure).
            CompositeByteBuf owned = payload;
            payload = null;
            sendWithData(FrameType.MIGRATE_PAGES, fields -> {
                fields.writeInt(thisRound).writeInt(dataPages.size()).writeInt(zeros.size());
                for (long index : dataPages) {
                    fields.writeLong(index);
                }
                for (long index : zeros) {
                    fields.writeLong(index);
                }
            }, owned);
            pagesSent += dataPages.size();
            long total = bytes + 8L * (dataPages.size() + zeros.size()) + 40;
            bytesSent += total;
            return total;
        } finally {
            if (payload != null) {
                payload.release();
            }
        }
    }

    private static final ByteBuffer ZERO_PAGE = ByteBuffer.allocateDirect(65536).asReadOnlyBuffer();

    /** A vectorised comparison with a page of zeros (ByteBuffer.mismatch). */
    private static boolean isZero(ByteBuf data, int at, int length) {
        ByteBuffer page = data.nioBuffer(at, length);
        ByteBuffer zeros = ZERO_PAGE.duplicate();
        zeros.limit(Math.min(length, zeros.capacity()));
        return length <= ZERO_PAGE.capacity() && page.mismatch(zeros) < 0;
    }

    private void send(FrameType type, java.util.function.Consumer<ByteBuf> fields) throws Exception {
        sendWithData(type, fields, null);
    }

    private void sendWithData(FrameType type, java.util.function.Consumer<ByteBuf> fields, ByteBuf data)
            throws Exception {
        MigrationEngine.Link link = engine.link();
        if (link == null || !engine.awaitWritable(engine.clock().nanoTime() + STALL_TIMEOUT_NANOS)) {
            if (data != null) {
                data.release();
            }
            throw new MigrationException("the migration channel to " + target + " is down or stalled");
        }
        pace(data == null ? 0 : data.readableBytes());
        ByteBuf header = link.allocator().buffer(64);
        header.writeLong(id);
        fields.accept(header);
        if (!link.send(FrameFormat.compose(link.allocator(), type, header, data))) {
            throw new MigrationException("the migration channel to " + target + " closed");
        }
    }

    private long pacedBytes;

    /** Keeps to the bandwidth limit, if there is one. */
    private void pace(long bytes) throws InterruptedException {
        long limit = options.bandwidthLimitBytesPerSecond();
        if (limit <= 0 || bytes == 0) {
            return;
        }
        pacedBytes += bytes;
        long due = startedNanos + (long) (pacedBytes * 1e9 / limit);
        long wait = due - engine.clock().nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }


    private void checkCancelled() {
        if (cancelRequested) {
            throw new MigrationException("cancelled");
        }
        if (abortReason != null) {
            throw new MigrationException("the target gave up: " + abortReason);
        }
    }

    private void checkCancelledUnlessPaused() {
        if (!paused) {
            checkCancelled();
        }
    }

    private void transition(MigrationPhase next, String reason) {
        MigrationPhase previous = phase;
        if (previous == next) {
            return;
        }
        if (!LEGAL.get(previous).contains(next)) {
            throw new IllegalStateException("migration of " + spec.name() + ": illegal change " + previous + " -> "
                    + next + " (" + reason + ")");
        }
        phase = next;
        LOG.log(Level.INFO, "migration of {0} to {1}: {2} -> {3}: {4}", spec.name(), target, previous, next, reason);
        publishProgress();
    }

    private void publishProgress() {
        MigrationProgress progress = progress();
        engine.supervisor().migrationProgress(progress);
        engine.host().publish(new MigrationProgressed(engine.wallClock().instant(), source, progress));
    }

    private static long cardinality(long[] bitmap) {
        long count = 0;
        for (long word : bitmap) {
            count += Long.bitCount(word);
        }
        return count;
    }

    private static boolean isSet(long[] bitmap, long page) {
        return (bitmap[(int) (page >>> 6)] & (1L << page)) != 0;
    }

    private static long nextSet(long[] bitmap, long from, long limit) {
        if (from >= limit) {
            return -1;
        }
        int word = (int) (from >>> 6);
        long bits = bitmap[word] & (-1L << from);
        while (true) {
            if (bits != 0) {
                long page = ((long) word << 6) + Long.numberOfTrailingZeros(bits);
                return page < limit ? page : -1;
            }
            if (++word >= bitmap.length) {
                return -1;
            }
            bits = bitmap[word];
        }
    }
}
