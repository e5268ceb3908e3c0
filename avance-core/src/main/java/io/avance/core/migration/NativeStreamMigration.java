package io.avance.core.migration;

import io.avance.api.NodeId;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.MigrationProgressed;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.MigrationException;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationProgress;
import io.avance.api.migration.MigrationReport;
import io.avance.core.vm.VmSpecCodec;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The source side of a live migration the hypervisor performs itself (Xen's libxl stream, for an
 * adapter with {@code NATIVE_MIGRATION} and without the engine's guest-memory path): the engine
 * carries the stream over the migration channel in {@code MIGRATE_STREAM} frames and keeps the
 * switch exactly as for its own pre-copy.
 *
 * <pre>
 *   PREPARING --target accepts--&gt; PRE_COPY (NativeMigration.send: the hypervisor's own rounds,
 *                                    then it suspends the VM and sends the rest)
 *                                 STOP_AND_COPY (send returned: suspended here; target prepared)
 *                                 ACTIVATING (told the target to run it) --&gt; COMPLETED
 *   before ACTIVATING: failure --&gt; FAILED, finishSource(vm, false): the VM runs here again
 * </pre>
 *
 * <p>The pause reported is from the end of the stream (the VM is suspended by then) to the
 * target's confirmation: it leaves out the part of the hypervisor's own stop-and-copy before the
 * stream ended, which the engine cannot see.
 */
final class NativeStreamMigration extends AbstractOutgoingMigration {

    private static final Logger LOG = System.getLogger(NativeStreamMigration.class.getName());
    private static final long REPLY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long STALL_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private boolean streamed;
    private boolean activateSent;
    private long pausedAtNanos;
    private long pauseNanos;

    NativeStreamMigration(MigrationEngine engine, long id, VmSpec spec, NodeId source, NodeId target,
                          OutgoingMigration.Listener listener) {
        super(engine, id, spec, source, target, listener, REPLY_TIMEOUT_NANOS);
    }

    @Override
    public MigrationProgress progress() {
        return new MigrationProgress(spec.name(), phase, phase == MigrationPhase.PREPARING ? 0 : 1, bytesSent, 0, 0, 0,
                spec.memoryBytes());
    }

    @Override
    protected void run() {
        long started = engine.clock().nanoTime();
        Optional<String> failure = Optional.empty();
        MigrationPhase outcome = MigrationPhase.COMPLETED;
        try {
            engine.supervisor().setEvacuating(spec.name(), true);
            engine.host().audit("migration", spec.name() + " to " + target + " (the hypervisor's stream)", "starting");
            control(FrameType.MIGRATE_BEGIN, fields -> {
                fields.writeLong(spec.memoryBytes()).writeInt(4096).writeByte(MigrationCodec.KIND_NATIVE);
                MigrationCodec.writeString(fields, VmSpecCodec.encode(spec), VmSpecCodec.MAX_BYTES);
            });
            await(accepted, "the target's answer");
            phase(MigrationPhase.PRE_COPY);
            // The hypervisor runs its own rounds; the engine has nothing to wait for before it.
            if (listener != null) {
                listener.onConverged(this);
            }
            release.get();
            if (cancelRequested) {
                throw new MigrationException("cancelled");
            }
            StreamChannel stream = new StreamChannel();
            try {
                adapter.nativeMigration().send(spec.name(), stream);
                stream.flush();
            } finally {
                stream.close();
            }
            streamed = true;
            pausedAtNanos = engine.clock().nanoTime();
            phase(MigrationPhase.STOP_AND_COPY);
            control(FrameType.MIGRATE_STREAM_END, fields -> { });
            await(prepared, "the target to hold the whole VM");
            if (listener != null) {
                listener.onPrepared(this);
            }
            if (!switchOver.get()) {
                throw new MigrationException("the switch was called off");
            }
            activateSent = true;
            phase(MigrationPhase.ACTIVATING);
            control(FrameType.MIGRATE_ACTIVATE, fields -> { });
            try {
                await(done, "the target to run it");
            } finally {
                pauseNanos = engine.clock().nanoTime() - pausedAtNanos;
                finishSource(true);
            }
        } catch (Throwable e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            failure = Optional.of(cancelRequested ? "cancelled" : String.valueOf(cause.getMessage()));
            outcome = cancelRequested ? MigrationPhase.CANCELLED : MigrationPhase.FAILED;
            if (cause instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            giveUp(failure.get());
        }
        if (!phase.terminal()) {
            phase(outcome);
        }
        if (outcome == MigrationPhase.COMPLETED) {
            engine.supervisor().migratedAway(spec.name(), true, "migrated to " + target);
        }
        MigrationReport report = new MigrationReport(spec.name(), source, target, outcome, 1, bytesSent, 0, 0,
                spec.memoryBytes(), engine.clock().nanoTime() - started, pauseNanos, failure);
        engine.ended(this, outcome == MigrationPhase.COMPLETED, pauseNanos);
        engine.host().publish(new MigrationEnded(engine.wallClock().instant(), source, report));
        engine.host().audit("migration", spec.name() + " to " + target + ": " + bytesSent + " bytes of the hypervisor's "
                + "stream", outcome.name().toLowerCase(java.util.Locale.ROOT) + failure.map(f -> ": " + f).orElse(""));
        LOG.log(outcome == MigrationPhase.COMPLETED ? Level.INFO : Level.WARNING,
                "native migration of {0} to {1}: {2}, {3} bytes{4}", spec.name(), target, outcome, bytesSent,
                failure.map(f -> " (" + f + ")").orElse(""));
        if (listener != null) {
            listener.onEnded(this, report);
        }
        result.complete(report);
    }

    private void giveUp(String why) {
        if (activateSent) {
            finishSource(true);
            engine.supervisor().migratedAway(spec.name(), true, "migration to " + target + " ended uncertainly ("
                    + why + "); this copy is destroyed");
            return;
        }
        engine.sendControl(FrameType.MIGRATE_ABORT, id, fields -> MigrationCodec.writeString(fields, why,
                MigrationCodec.MAX_REASON));
        if (streamed) {
            // Suspended here by the hypervisor's stream: it runs here again.
            finishSource(false);
        }
        engine.supervisor().migratedAway(spec.name(), false, "migration to " + target + " did not complete ("
                + why + "); the VM runs here");
    }

    private void finishSource(boolean migrated) {
        try {
            adapter.nativeMigration().finishSource(spec.name(), migrated);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "VM " + spec.name() + ": finishing the source of its migration ("
                    + (migrated ? "destroy" : "resume") + ") failed", e);
        }
    }

    private void phase(MigrationPhase next) {
        phase = next;
        MigrationProgress progress = progress();
        engine.supervisor().migrationProgress(progress);
        engine.host().publish(new MigrationProgressed(engine.wallClock().instant(), source, progress));
    }

    private void control(FrameType type, java.util.function.Consumer<ByteBuf> fields) throws Exception {
        if (!engine.sendControl(type, id, fields)) {
            throw new MigrationException("the migration channel to " + target + " is down");
        }
    }


    /**
     * The hypervisor's stream, gathered into MIGRATE_STREAM frames of up to {@link MigrationCodec#MAX_STREAM_CHUNK} bytes
     * with the channel's back-pressure. Hypervisors write their streams in pieces as small as a
     * page header; a frame for each would cost the link's event loops more than the bytes do. The
     * stream runs one way, so holding a partial frame until more comes, or until the hypervisor's
     * send returns and {@link #flush} is called, can delay nothing the hypervisor waits for.
     */
    private final class StreamChannel implements WritableByteChannel {
        private boolean open = true;
        private ByteBuf pending;

        @Override
        public int write(ByteBuffer source) throws IOException {
            if (!open) {
                throw new java.nio.channels.ClosedChannelException();
            }
            int written = 0;
            while (source.hasRemaining()) {
                if (pending == null) {
                    MigrationEngine.Link link = engine.link();
                    if (link == null) {
                        throw new IOException("the migration channel to " + target + " is down");
                    }
                    pending = link.allocator().directBuffer(MigrationCodec.MAX_STREAM_CHUNK, MigrationCodec.MAX_STREAM_CHUNK);
                }
                int chunk = Math.min(source.remaining(), pending.writableBytes());
                ByteBuffer slice = source.duplicate();
                slice.limit(slice.position() + chunk);
                pending.writeBytes(slice);
                source.position(source.position() + chunk);
                written += chunk;
                if (!pending.isWritable()) {
                    flush();
                }
            }
            return written;
        }

        /** Sends what is gathered, waiting while the channel is full. */
        void flush() throws IOException {
            if (pending == null || !pending.isReadable()) {
                return;
            }
            ByteBuf data = pending;
            pending = null;
            MigrationEngine.Link link = engine.link();
            try {
                if (link == null || !engine.awaitWritable(engine.clock().nanoTime() + STALL_TIMEOUT_NANOS)) {
                    throw new IOException("the migration channel to " + target + " is down or stalled");
                }
            } catch (InterruptedException e) {
                data.release();
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted sending the migration stream");
            } catch (IOException e) {
                data.release();
                throw e;
            }
            int length = data.readableBytes();
            ByteBuf header = link.allocator().buffer(16);
            header.writeLong(id);
            if (!link.send(FrameFormat.compose(link.allocator(), FrameType.MIGRATE_STREAM, header, data))) {
                throw new IOException("the migration channel to " + target + " closed");
            }
            bytesSent += length;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
            if (pending != null) {
                pending.release();
                pending = null;
            }
        }
    }
}
