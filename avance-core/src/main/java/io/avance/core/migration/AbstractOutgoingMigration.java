package io.avance.core.migration;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.MigrationException;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationReport;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What every outgoing migration shares, whichever way it copies the VM: its identity, its own
 * thread, the coordinator's two go-aheads (release to stop, switch over), and the target's
 * replies that end in a future the thread waits on (accept, prepared, done).
 *
 * <p>Replies, aborts and a lost channel arrive on the event loop and only complete futures;
 * everything else runs on the migration's thread ({@link #run}).
 */
abstract class AbstractOutgoingMigration implements OutgoingMigration {

    protected final MigrationEngine engine;
    protected final long id;
    protected final VmSpec spec;
    protected final NodeId source;
    protected final NodeId target;
    protected final OutgoingMigration.Listener listener;
    protected final HypervisorAdapter adapter;
    protected final CompletableFuture<MigrationReport> result = new CompletableFuture<>();

    // Replies from the target, completed on the event loop.
    protected final CompletableFuture<Void> accepted = new CompletableFuture<>();
    protected final CompletableFuture<Void> prepared = new CompletableFuture<>();
    protected final CompletableFuture<Void> done = new CompletableFuture<>();
    // The coordinator's go-aheads (completed at once without a listener).
    protected final CompletableFuture<Void> release = new CompletableFuture<>();
    protected final CompletableFuture<Boolean> switchOver = new CompletableFuture<>();

    protected volatile MigrationPhase phase = MigrationPhase.PREPARING;
    protected volatile boolean cancelRequested;
    protected volatile long bytesSent;

    private final long replyTimeoutNanos;
    private final Thread thread;

    /**
     * @param replyTimeoutNanos how long the target may take to answer a step
     */
    AbstractOutgoingMigration(MigrationEngine engine, long id, VmSpec spec, NodeId source, NodeId target,
                              OutgoingMigration.Listener listener, long replyTimeoutNanos) {
        this.engine = engine;
        this.id = id;
        this.spec = spec;
        this.source = source;
        this.target = target;
        this.listener = listener;
        this.replyTimeoutNanos = replyTimeoutNanos;
        this.adapter = engine.supervisor().adapter();
        this.thread = new Thread(this::run, "avance-migrate-" + spec.name());
        this.thread.setDaemon(true);
        if (listener == null) {
            release.complete(null);
            switchOver.complete(true);
        }
    }

    /** The migration's thread: the whole migration, ending in {@link #result}. */
    protected abstract void run();

    @Override
    public long id() {
        return id;
    }

    @Override
    public void start() {
        thread.start();
    }

    @Override
    public void releaseToStop() {
        release.complete(null);
    }

    @Override
    public void switchOver(boolean go) {
        switchOver.complete(go);
    }

    @Override
    public String vm() {
        return spec.name();
    }

    @Override
    public boolean cancel() {
        if (phase.terminal() || phase == MigrationPhase.ACTIVATING) {
            return false;
        }
        cancelRequested = true;
        release.complete(null);
        switchOver.complete(false);
        wake(new MigrationException("cancelled"));
        return true;
    }

    @Override
    public CompletionStage<MigrationReport> result() {
        return result;
    }

    @Override
    public void onReply(FrameType type, ByteBuf in) {
        switch (type) {
            case MIGRATE_ACCEPT -> {
                MigrationCodec.need(in, 1, "ok");
                boolean ok = in.readUnsignedByte() == 0;
                String reason = MigrationCodec.readReason(in);
                if (ok) {
                    accepted.complete(null);
                } else {
                    accepted.completeExceptionally(new MigrationException("the target refused: " + reason));
                }
            }
            case MIGRATE_PREPARED -> prepared.complete(null);
            case MIGRATE_DONE -> {
                MigrationCodec.need(in, 1, "ok");
                boolean ok = in.readUnsignedByte() == 0;
                String reason = MigrationCodec.readReason(in);
                if (ok) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(new MigrationException("the target could not run it: " + reason));
                }
            }
            default -> onOtherReply(type, in);
        }
    }

    /**
     * A reply only this kind of migration knows; none by default.
     *
     * @param type the frame type
     * @param in   its fields
     */
    protected void onOtherReply(FrameType type, ByteBuf in) {
        // Not a reply of this migration.
    }

    @Override
    public void onAbort(String reason) {
        wake(new MigrationException("the target gave up: " + reason));
    }

    @Override
    public void linkLost() {
        wake(new MigrationException("the migration channel to " + target + " closed"));
    }

    /**
     * Fails every reply the thread may be waiting for.
     *
     * @param cause what the waits end with
     */
    protected void wake(MigrationException cause) {
        accepted.completeExceptionally(cause);
        prepared.completeExceptionally(cause);
        done.completeExceptionally(cause);
    }

    /**
     * Waits for a reply, within the reply timeout.
     *
     * @param future the reply
     * @param what   what it is, for the message
     * @throws Exception the reply's failure, or a timeout
     */
    protected void await(CompletableFuture<?> future, String what) throws Exception {
        try {
            future.get(replyTimeoutNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new MigrationException("timed out waiting for " + what);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }
}
