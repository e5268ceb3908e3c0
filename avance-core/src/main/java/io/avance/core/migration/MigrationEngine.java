package io.avance.core.migration;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.MigrationOptions;
import io.avance.core.link.DataLinkListener;
import io.avance.core.time.NanoClock;
import io.avance.core.vm.VmSupervisor;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.ProtocolException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Both ends of live migrations over the migration channel: the outgoing pre-copies this node runs
 * as the source, and the incoming VMs it builds as the target.
 *
 * <p>Frames arrive on a Netty event loop and are handed to the migration they belong to (by the
 * 64-bit migration id that starts every payload): each migration works on its own thread, so that
 * copying pages never blocks the event loop, and several VMs migrate at once, independently.
 * Thread-safe.
 */
public final class MigrationEngine implements DataLinkListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(MigrationEngine.class.getName());

    /** What the engine needs from its node. */
    public interface Host {
        /** @return this node */
        NodeId id();

        /** @return the peer, if any */
        Optional<NodeId> peer();

        /** @return whether this node is primary now */
        boolean primary();

        /** @return whether this node takes VMs (not in maintenance, not primary) */
        boolean acceptsIncoming();

        /**
         * @param spec a VM arriving here
         * @return whether its volumes have settled with the peer since the role change (writes then
         *         replicate at once, rather than being tracked as degraded)
         */
        boolean volumesReady(VmSpec spec);

        /** @param event for listeners */
        void publish(PairEvent event);

        /** @param action what @param detail to what @param outcome how it went */
        void audit(String action, String detail, String outcome);
    }

    /** The migration channel, as the engine sees it. */
    public interface Link {
        /** @param frame a whole frame, whose ownership passes @return false if there is no session */
        boolean send(ByteBuf frame);

        /** @return the allocator for frames */
        ByteBufAllocator allocator();

        /** @return whether the channel takes more without piling up */
        boolean writable();

        /** @return whether a session is open */
        boolean connected();
    }

    private final Host host;
    private final VmSupervisor supervisor;
    private final NanoClock clock;
    private final Clock wallClock;
    private final Map<Long, OutgoingMigration> outgoing = new ConcurrentHashMap<>();
    private final Map<Long, Incoming> incoming = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong(new java.security.SecureRandom().nextLong() & 0xFFFF_FFFF_0000_0000L);
    private final Object writability = new Object();
    private final Counter completed;
    private final Counter failed;
    private final Timer pauses;
    private volatile Link link;

    /**
     * Creates the engine.
     *
     * @param host       the node
     * @param supervisor the node's VMs
     * @param clock      the monotonic clock
     * @param wallClock  for event times
     * @param meters     for metrics ({@code avance.migration.*})
     */
    public MigrationEngine(Host host, VmSupervisor supervisor, NanoClock clock, Clock wallClock, MeterRegistry meters) {
        this.host = host;
        this.supervisor = supervisor;
        this.clock = clock;
        this.wallClock = wallClock;
        String node = host.id().value();
        this.completed = Counter.builder("avance.migration.completed").description("live migrations completed")
                .tag("node", node).register(meters);
        this.failed = Counter.builder("avance.migration.failed")
                .description("live migrations failed or cancelled (the VM stayed on the source)")
                .tag("node", node).register(meters);
        this.pauses = Timer.builder("avance.migration.pause").description("how long migrated VMs were paused")
                .tag("node", node).register(meters);
    }

    /**
     * Sets the current migration channel (the current incarnation's private link).
     *
     * @param current the channel, or null when there is none
     */
    public void attach(Link current) {
        this.link = current;
    }

    /**
     * Starts migrating a running VM to the peer.
     *
     * @param vm       the VM
     * @param options  pause target, rounds, bandwidth
     * @param listener told when it converges and when the target holds it; null for none
     * @return the migration
     */
    OutgoingMigration startOutgoing(String vm, MigrationOptions options, OutgoingMigration.Listener listener) {
        VmSpec spec = supervisor.catalog().get(vm).map(entry -> entry.spec())
                .orElseThrow(() -> new io.avance.api.migration.MigrationException("no VM named '" + vm + "'"));
        NodeId target = host.peer().orElseThrow(() ->
                new io.avance.api.migration.MigrationException("this node has no peer to migrate to"));
        long id = ids.incrementAndGet();
        java.util.Set<io.avance.api.hypervisor.Capability> capabilities = supervisor.adapter().capabilities();
        OutgoingMigration migration;
        if (capabilities.containsAll(PRE_COPY_NEEDS)) {
            migration = new PreCopyMigration(this, id, spec, host.id(), target, options, listener);
        } else if (capabilities.contains(io.avance.api.hypervisor.Capability.NATIVE_MIGRATION)) {
            // The hypervisor copies the memory itself (Xen's libxl stream); the engine carries the
            // stream and keeps the switch.
            migration = new NativeStreamMigration(this, id, spec, host.id(), target, listener);
        } else {
            throw new io.avance.api.migration.MigrationException("the " + supervisor.adapter().name()
                    + " hypervisor cannot migrate VMs live (it has neither guest memory access with dirty logging "
                    + "and device state, nor a native migration stream)");
        }
        outgoing.put(id, migration);
        migration.start();
        return migration;
    }

    /**
     * Moves every running VM to the peer at once, for a graceful failover.
     *
     * @param vms      the VMs to move
     * @param options  the migration options
     * @param listener told when all can switch, or when the evacuation failed
     * @return the evacuation under way
     */
    public Evacuation evacuate(List<String> vms, MigrationOptions options, Evacuation.Listener listener) {
        Evacuation evacuation = new Evacuation(this, vms, options, listener);
        evacuation.start();
        return evacuation;
    }

    // ------------------------------------------------------------------------------------------
    // What migrations use

    VmSupervisor supervisor() {
        return supervisor;
    }

    Host host() {
        return host;
    }

    NanoClock clock() {
        return clock;
    }

    Clock wallClock() {
        return wallClock;
    }

    Link link() {
        return link;
    }

    /** What the engine's own pre-copy needs from the hypervisor. */
    private static final java.util.Set<io.avance.api.hypervisor.Capability> PRE_COPY_NEEDS = java.util.EnumSet.of(
            io.avance.api.hypervisor.Capability.GUEST_MEMORY_ACCESS, io.avance.api.hypervisor.Capability.DIRTY_PAGE_LOGGING,
            io.avance.api.hypervisor.Capability.DEVICE_STATE, io.avance.api.hypervisor.Capability.PAUSE);

    void ended(OutgoingMigration migration, boolean success, long pauseNanos) {
        outgoing.remove(migration.id());
        if (success) {
            completed.increment();
            pauses.record(pauseNanos, TimeUnit.NANOSECONDS);
        } else {
            failed.increment();
        }
    }

    void ended(Incoming migration) {
        incoming.remove(migration.id());
    }

    /**
     * Waits until the channel can take more, or the deadline passes.
     *
     * @param deadlineNanos a clock reading
     * @return true if writable
     */
    boolean awaitWritable(long deadlineNanos) throws InterruptedException {
        synchronized (writability) {
            while (true) {
                Link current = link;
                if (current == null || !current.connected()) {
                    return false;
                }
                if (current.writable()) {
                    return true;
                }
                long left = deadlineNanos - clock.nanoTime();
                if (left <= 0) {
                    return false;
                }
                // Writability events wake this; the bounded wait covers a missed one.
                writability.wait(Math.max(1, Math.min(10, TimeUnit.NANOSECONDS.toMillis(left))));
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // The migration channel

    @Override
    public void onDataSessionUp() {
        LOG.log(Level.DEBUG, "{0}: migration channel up", host.id());
    }

    @Override
    public void onDataSessionDown() {
        for (OutgoingMigration migration : outgoing.values()) {
            migration.linkLost();
        }
        for (Incoming migration : incoming.values()) {
            migration.linkLost();
        }
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    @Override
    public void onDataWritable() {
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    @Override
    public void onDataFrame(Frame frame) {
        ByteBuf payload = frame.payload();
        try {
            if (payload.readableBytes() < 8) {
                throw new ProtocolException(frame.type() + ": no migration id");
            }
            long id = payload.readLong();
            FrameType type = frame.type();
            if (type == FrameType.MIGRATE_BEGIN) {
                Incoming migration = MigrationCodec.isNative(payload) ? IncomingNativeMigration.begin(this, id, payload)
                        : IncomingMigration.begin(this, id, payload);
                if (migration != null) {
                    incoming.put(id, migration);
                }
                frame.release();
                return;
            }
            switch (type) {
                case MIGRATE_ACCEPT, MIGRATE_ROUND_ACK, MIGRATE_PREPARED, MIGRATE_DONE -> {
                    OutgoingMigration migration = outgoing.get(id);
                    if (migration != null) {
                        migration.onReply(type, payload);
                    }
                    frame.release();
                }
                case MIGRATE_PAGES, MIGRATE_ROUND_END, MIGRATE_DEVICE, MIGRATE_ACTIVATE, MIGRATE_STREAM,
                        MIGRATE_STREAM_END -> {
                    Incoming migration = incoming.get(id);
                    if (migration != null) {
                        // Ownership passes: the migration's thread applies and releases it.
                        migration.onFrame(type, frame);
                    } else {
                        frame.release();
                    }
                }
                case MIGRATE_ABORT -> {
                    String reason = MigrationCodec.readReason(payload);
                    OutgoingMigration out = outgoing.get(id);
                    if (out != null) {
                        out.onAbort(reason);
                    }
                    Incoming in = incoming.get(id);
                    if (in != null) {
                        in.onAbort(reason);
                    }
                    frame.release();
                }
                default -> throw new ProtocolException("unexpected " + type + " on the migration channel");
            }
        } catch (RuntimeException e) {
            frame.release();
            LOG.log(Level.WARNING, "{0}: bad {1} on the migration channel: {2}", host.id(), frame.type(),
                    e.getMessage());
        }
    }

    /** The target side of a migration, whichever way the memory travels. */
    interface Incoming {
        /** @return the migration's id */
        long id();

        /** A frame for it; ownership passes. */
        void onFrame(FrameType type, Frame frame);

        /** The source gave up. */
        void onAbort(String reason);

        /** The channel closed. */
        void linkLost();
    }

    /** Sends a small control frame of a migration; false if there is no channel. */
    /**
     * Answers a MIGRATE_BEGIN: accepted.
     *
     * @param id the migration
     */
    void accept(long id) {
        sendControl(FrameType.MIGRATE_ACCEPT, id, fields -> {
            fields.writeByte(0);
            MigrationCodec.writeString(fields, "", MigrationCodec.MAX_REASON);
        });
    }

    /**
     * Answers a MIGRATE_BEGIN: refused, with the reason (logged here too).
     *
     * @param id     the migration
     * @param reason why
     */
    void refuse(long id, String reason) {
        LOG.log(Level.WARNING, "{0}: refusing an incoming migration: {1}", host.id(), reason);
        sendControl(FrameType.MIGRATE_ACCEPT, id, fields -> {
            fields.writeByte(1);
            MigrationCodec.writeString(fields, reason, MigrationCodec.MAX_REASON);
        });
    }

    /**
     * Tells the source whether the VM it sent runs here (MIGRATE_DONE).
     *
     * @param id     the migration
     * @param ok     whether it runs
     * @param reason why not, or ""
     */
    void sendDone(long id, boolean ok, String reason) {
        sendControl(FrameType.MIGRATE_DONE, id, fields -> {
            fields.writeByte(ok ? 0 : 1);
            MigrationCodec.writeString(fields, reason, MigrationCodec.MAX_REASON);
        });
    }

    boolean sendControl(FrameType type, long id, java.util.function.Consumer<ByteBuf> fields) {
        Link current = link;
        if (current == null) {
            return false;
        }
        ByteBuf buffer = current.allocator().buffer(64);
        buffer.writeLong(id);
        fields.accept(buffer);
        return current.send(io.avance.core.wire.FrameFormat.compose(current.allocator(), type, buffer, null));
    }

    /**
     * Cancels every migration under way, in both directions (the node is stopping).
     */
    @Override
    public void close() {
        for (OutgoingMigration migration : outgoing.values()) {
            migration.cancel();
        }
        for (Incoming migration : incoming.values()) {
            migration.onAbort("the node is stopping");
        }
    }
}
