package io.avance.core.migration;

import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.core.vm.VmSpecCodec;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The target side of one live migration: a paused VM built from the source's pages and device
 * state, run only when the source says it never will again ({@code MIGRATE_ACTIVATE}) and this
 * node is primary.
 *
 * <pre>
 *   BEGIN --VM created paused--&gt; FILLING (pages, rounds acknowledged once applied)
 *     --device state--&gt; PREPARED --ACTIVATE, and this node primary--&gt; RUNNING (DONE sent)
 *   before ACTIVATE: ABORT, or the channel closes --&gt; the half-built VM is destroyed
 * </pre>
 *
 * <p>Frames are applied in order on the migration's own thread; the event loop only hands them
 * over. After {@code ACTIVATE} the channel no longer matters: the VM is this node's to run.
 */
final class IncomingMigration implements MigrationEngine.Incoming {

    private static final Logger LOG = System.getLogger(IncomingMigration.class.getName());
    /** How long an activation waits for this node to become primary (the handover on the control channel). */
    private static final long PRIMARY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private enum Stage { FILLING, PREPARED, ACTIVATING, ENDED }

    private final MigrationEngine engine;
    private final long id;
    private final VmSpec spec;
    private final ExecutorService worker;
    private IncomingVm vm;
    private GuestMemory memory;
    private byte[] deviceState;
    private volatile Stage stage = Stage.FILLING;

    private IncomingMigration(MigrationEngine engine, long id, VmSpec spec) {
        this.engine = engine;
        this.id = id;
        this.spec = spec;
        this.worker = Executors.newSingleThreadExecutor(new DefaultThreadFactory("avance-incoming-" + spec.name(),
                true));
    }

    @Override
    public long id() {
        return id;
    }

    /**
     * A source offers a VM: refuse it, or create it paused and accept.
     *
     * @return the migration, or null if refused
     */
    static IncomingMigration begin(MigrationEngine engine, long id, ByteBuf in) {
        MigrationCodec.need(in, 13, "geometry");
        long memoryBytes = in.readLong();
        int pageSize = in.readInt();
        in.readUnsignedByte();
        String text = MigrationCodec.readString(in, VmSpecCodec.MAX_BYTES, "spec");
        VmSpec spec;
        try {
            spec = VmSpecCodec.decode(text);
        } catch (IllegalArgumentException e) {
            engine.refuse(id, "the VM definition is invalid: " + e.getMessage());
            return null;
        }
        if (spec.memoryBytes() != memoryBytes || pageSize != 4096) {
            engine.refuse(id, "memory geometry " + memoryBytes + "/" + pageSize + " does not match the spec");
            return null;
        }
        if (!engine.host().acceptsIncoming()) {
            engine.refuse(id, "node " + engine.host().id() + " takes no VMs now (it is primary, or in maintenance)");
            return null;
        }
        IncomingMigration migration = new IncomingMigration(engine, id, spec);
        migration.worker.execute(migration::create);
        return migration;
    }


    private void create() {
        try {
            engine.supervisor().incoming(spec);
            vm = engine.supervisor().adapter().prepareIncoming(spec);
            memory = vm.memory();
            engine.accept(id);
        } catch (RuntimeException e) {
            engine.refuse(id, "the hypervisor cannot create it: " + e.getMessage());
            end(false, "could not be created here: " + e.getMessage());
        }
    }

    /** A frame for this migration; ownership passes here. */
    @Override
    public void onFrame(FrameType type, Frame frame) {
        try {
            worker.execute(() -> {
                try {
                    if (stage == Stage.ENDED) {
                        return;
                    }
                    apply(type, frame.payload());
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "{0}: incoming migration of {1}: {2}", engine.host().id(), spec.name(),
                            e.getMessage());
                    abandon("bad " + type + ": " + e.getMessage());
                } finally {
                    frame.release();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            frame.release();
        }
    }

    private void apply(FrameType type, ByteBuf in) {
        switch (type) {
            case MIGRATE_PAGES -> pages(in);
            case MIGRATE_ROUND_END -> {
                MigrationCodec.need(in, 4, "round");
                int round = in.readInt();
                engine.sendControl(FrameType.MIGRATE_ROUND_ACK, id, fields -> fields.writeInt(round));
            }
            case MIGRATE_DEVICE -> {
                deviceState = new byte[in.readableBytes()];
                in.readBytes(deviceState);
                stage = Stage.PREPARED;
                engine.sendControl(FrameType.MIGRATE_PREPARED, id, fields -> { });
            }
            case MIGRATE_ACTIVATE -> activate();
            default -> throw new ProtocolException("unexpected " + type);
        }
    }

    private void pages(ByteBuf in) {
        if (memory == null || stage != Stage.FILLING) {
            throw new ProtocolException("pages for a VM that is not being filled");
        }
        MigrationCodec.need(in, 12, "page counts");
        in.readInt();
        int dataCount = in.readInt();
        int zeroCount = in.readInt();
        if (dataCount < 0 || zeroCount < 0 || (long) dataCount + zeroCount > MigrationCodec.MAX_PAGES_PER_FRAME) {
            throw new ProtocolException("page counts " + dataCount + "/" + zeroCount + " are out of bounds");
        }
        int pageSize = memory.pageSizeBytes();
        MigrationCodec.need(in, 8L * (dataCount + zeroCount) + (long) dataCount * pageSize, "pages");
        long[] dataPages = new long[dataCount];
        for (int i = 0; i < dataCount; i++) {
            dataPages[i] = checkedPage(in.readLong());
        }
        long[] zeros = new long[zeroCount];
        for (int i = 0; i < zeroCount; i++) {
            zeros[i] = checkedPage(in.readLong());
        }
        // Runs of consecutive pages are written in one call.
        int i = 0;
        while (i < dataCount) {
            int run = 1;
            while (i + run < dataCount && dataPages[i + run] == dataPages[i] + run) {
                run++;
            }
            memory.writePages(dataPages[i], run, in.nioBuffer(in.readerIndex(), run * pageSize));
            in.skipBytes(run * pageSize);
            i += run;
        }
        i = 0;
        while (i < zeroCount) {
            int run = 1;
            while (i + run < zeroCount && zeros[i + run] == zeros[i] + run) {
                run++;
            }
            memory.zeroPages(zeros[i], run);
            i += run;
        }
    }

    private long checkedPage(long page) {
        if (page < 0 || page >= memory.pageCount()) {
            throw new ProtocolException("page " + page + " is outside the guest's " + memory.pageCount() + " pages");
        }
        return page;
    }

    private void activate() {
        if (stage != Stage.PREPARED) {
            throw new ProtocolException("activation before the VM is complete");
        }
        stage = Stage.ACTIVATING;
        long asked = engine.clock().nanoTime();
        // The handover travels on the control channel and may arrive a moment after this.
        long deadline = engine.clock().nanoTime() + PRIMARY_WAIT_NANOS;
        while (!engine.host().primary() && engine.clock().nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!engine.host().primary()) {
            engine.sendDone(id, false, "node " + engine.host().id() + " did not become primary within "
                    + TimeUnit.NANOSECONDS.toSeconds(PRIMARY_WAIT_NANOS) + " s");
            abandon("this node is not primary");
            return;
        }
        // Give the volumes the moment they need to plan with the peer after the role change, so that
        // the guest's first writes replicate instead of being tracked as written without it.
        long settle = engine.clock().nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (!engine.host().volumesReady(spec) && engine.clock().nanoTime() < settle) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        long settled = engine.clock().nanoTime();
        try {
            vm.activate(deviceState);
        } catch (RuntimeException e) {
            engine.sendDone(id, false, "activation failed: " + e.getMessage());
            end(false, "activation failed: " + e.getMessage());
            return;
        }
        engine.sendDone(id, true, "");
        long activated = engine.clock().nanoTime();
        LOG.log(Level.INFO, "{0}: {1} activated {2} ms after the source''s go-ahead (volumes settled by {3} ms)",
                engine.host().id(), spec.name(), (activated - asked) / 1_000_000, (settled - asked) / 1_000_000);
        end(true, "arrived from the peer by live migration");
    }


    /** The source gave up. */
    @Override
    public void onAbort(String reason) {
        try {
            worker.execute(() -> {
                if (stage != Stage.ACTIVATING && stage != Stage.ENDED) {
                    abandon("the source gave up: " + reason);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Already ended.
        }
    }

    /** The channel closed: without the source's word, the half-built VM must go (unless activating). */
    @Override
    public void linkLost() {
        onAbort("the migration channel closed");
    }

    private void abandon(String why) {
        if (vm != null && stage != Stage.ENDED) {
            try {
                vm.abort();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "{0}: discarding the half-built VM {1} failed: {2}", engine.host().id(),
                        spec.name(), e.getMessage());
            }
        }
        end(false, why);
    }

    private void end(boolean activated, String why) {
        if (stage == Stage.ENDED) {
            return;
        }
        stage = Stage.ENDED;
        engine.supervisor().incomingEnded(spec.name(), activated, why);
        engine.ended(this);
        worker.shutdown();
    }
}
