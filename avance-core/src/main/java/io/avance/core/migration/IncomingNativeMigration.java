package io.avance.core.migration;

import io.avance.api.hypervisor.VmSpec;
import io.avance.core.vm.VmSpecCodec;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The target side of a migration carried as the hypervisor's native stream: the stream's frames
 * feed a channel that {@code NativeMigration.receive} reads on a thread of this migration; the VM
 * it builds stays paused until {@code MIGRATE_ACTIVATE}, when this node is primary, and then
 * {@code resume} runs it. Before that, an abort or a closed channel makes the read fail and the
 * half-built VM is destroyed.
 */
final class IncomingNativeMigration implements MigrationEngine.Incoming {

    private static final Logger LOG = System.getLogger(IncomingNativeMigration.class.getName());
    private static final long PRIMARY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Stream bytes buffered here at most, waiting for the hypervisor to read them. */
    private static final long MAX_BUFFERED = 256L << 20;
    /** The end of the stream in the queue. */
    private static final ByteBuf END = io.netty.buffer.Unpooled.EMPTY_BUFFER;

    private final MigrationEngine engine;
    private final long id;
    private final VmSpec spec;
    private final ExecutorService worker;
    private final LinkedBlockingQueue<ByteBuf> stream = new LinkedBlockingQueue<>();
    private final AtomicLong buffered = new AtomicLong();
    private volatile String abortReason;
    private volatile boolean received;
    private volatile boolean ended;

    private IncomingNativeMigration(MigrationEngine engine, long id, VmSpec spec) {
        this.engine = engine;
        this.id = id;
        this.spec = spec;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "avance-incoming-" + spec.name());
            thread.setDaemon(true);
            return thread;
        });
    }

    @Override
    public long id() {
        return id;
    }

    static IncomingNativeMigration begin(MigrationEngine engine, long id, ByteBuf in) {
        MigrationCodec.need(in, 13, "geometry");
        in.readLong();
        in.readInt();
        in.readUnsignedByte();
        String text = MigrationCodec.readString(in, VmSpecCodec.MAX_BYTES, "spec");
        VmSpec spec;
        try {
            spec = VmSpecCodec.decode(text);
        } catch (IllegalArgumentException e) {
            engine.refuse(id, "the VM definition is invalid: " + e.getMessage());
            return null;
        }
        if (!engine.host().acceptsIncoming()) {
            engine.refuse(id, "node " + engine.host().id() + " takes no VMs now (it is primary, or in maintenance)");
            return null;
        }
        if (!engine.supervisor().adapter().capabilities().contains(io.avance.api.hypervisor.Capability.NATIVE_MIGRATION)) {
            engine.refuse(id, "this node's hypervisor has no native migration stream");
            return null;
        }
        IncomingNativeMigration migration = new IncomingNativeMigration(engine, id, spec);
        engine.supervisor().incoming(spec);
        engine.accept(id);
        migration.worker.execute(migration::receive);
        return migration;
    }


    /** The worker: the hypervisor reads the whole stream and builds the paused VM. */
    private void receive() {
        try {
            engine.supervisor().adapter().nativeMigration().receive(spec, new StreamChannel());
            received = true;
            engine.sendControl(FrameType.MIGRATE_PREPARED, id, fields -> { });
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: receiving {1} failed: {2}", engine.host().id(), spec.name(), e.getMessage());
            abandon("the stream could not be received: " + e.getMessage());
        }
    }

    @Override
    public void onFrame(FrameType type, Frame frame) {
        try {
            switch (type) {
                case MIGRATE_STREAM -> {
                    ByteBuf data = frame.payload().retainedSlice();
                    if (buffered.addAndGet(data.readableBytes()) > MAX_BUFFERED) {
                        data.release();
                        onAbort("the hypervisor here reads the stream too slowly (" + MAX_BUFFERED
                                + " bytes waiting)");
                        return;
                    }
                    stream.add(data);
                }
                case MIGRATE_STREAM_END -> stream.add(END);
                case MIGRATE_ACTIVATE -> worker.execute(this::activate);
                default -> LOG.log(Level.WARNING, "{0}: {1} is not part of a native migration", engine.host().id(), type);
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Ended already.
        } finally {
            frame.release();
        }
    }

    private void activate() {
        if (!received || ended) {
            return;
        }
        long deadline = engine.clock().nanoTime() + PRIMARY_WAIT_NANOS;
        while ((!engine.host().primary() || !engine.host().volumesReady(spec)) && engine.clock().nanoTime() < deadline) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!engine.host().primary()) {
            engine.sendDone(id, false, "node " + engine.host().id() + " did not become primary in time");
            abandon("this node is not primary");
            return;
        }
        try {
            engine.supervisor().adapter().resume(spec.name());
        } catch (RuntimeException e) {
            engine.sendDone(id, false, "the received VM did not run: " + e.getMessage());
            abandon("the received VM did not run: " + e.getMessage());
            return;
        }
        engine.sendDone(id, true, "");
        end(true, "arrived from the peer by the hypervisor's live migration");
    }


    @Override
    public void onAbort(String reason) {
        abortReason = reason;
        stream.add(END);
        try {
            worker.execute(() -> {
                if (received && !ended) {
                    abandon("the source gave up: " + reason);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Ended already.
        }
    }

    @Override
    public void linkLost() {
        onAbort("the migration channel closed");
    }

    private void abandon(String why) {
        if (ended) {
            return;
        }
        try {
            if (engine.supervisor().adapter().info(spec.name()).isPresent()) {
                engine.supervisor().adapter().destroy(spec.name());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: discarding the half-received VM {1} failed: {2}", engine.host().id(),
                    spec.name(), e.getMessage());
        }
        end(false, why);
    }

    private void end(boolean activated, String why) {
        if (ended) {
            return;
        }
        ended = true;
        ByteBuf left;
        while ((left = stream.poll()) != null) {
            left.release();
        }
        engine.supervisor().incomingEnded(spec.name(), activated, why);
        engine.ended(this);
        worker.shutdown();
    }

    /** The stream as the hypervisor reads it: the frames' bytes, in order, then the end. */
    private final class StreamChannel implements ReadableByteChannel {
        private ByteBuf current;
        private boolean eof;

        @Override
        public int read(ByteBuffer destination) throws IOException {
            if (eof) {
                return -1;
            }
            while (current == null || !current.isReadable()) {
                if (current != null) {
                    current.release();
                    current = null;
                }
                ByteBuf next;
                try {
                    next = stream.poll(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted reading the migration stream");
                }
                if (next == null) {
                    throw new IOException("the migration stream stalled for 60 s");
                }
                if (next == END) {
                    if (abortReason != null) {
                        throw new IOException("the migration was given up: " + abortReason);
                    }
                    eof = true;
                    return -1;
                }
                buffered.addAndGet(-next.readableBytes());
                current = next;
            }
            int length = Math.min(destination.remaining(), current.readableBytes());
            ByteBuffer target = destination.duplicate();
            target.limit(target.position() + length);
            current.readBytes(target);
            destination.position(destination.position() + length);
            return length;
        }

        @Override
        public boolean isOpen() {
            return !eof;
        }

        @Override
        public void close() {
            eof = true;
            if (current != null) {
                current.release();
                current = null;
            }
        }
    }
}
