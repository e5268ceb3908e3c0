package io.avance.core.migration;

import io.avance.api.migration.MigrationHandle;
import io.avance.api.migration.MigrationReport;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;

/**
 * The source side of one live migration, whichever way the memory travels: the engine's own
 * pre-copy ({@link PreCopyMigration}) or the hypervisor's native stream
 * ({@link NativeStreamMigration}). Both follow the same switch: the VM is paused and held, complete,
 * by the target; only once the source will never resume its copy is the target told to run it.
 */
interface OutgoingMigration extends MigrationHandle {

    /** Told of the migration's milestones, on the migration's thread. */
    interface Listener {
        /** The rest now fits the pause target; the migration keeps copying until released. */
        void onConverged(OutgoingMigration migration);

        /** The VM is paused here and held, complete, by the target; waiting for the switch. */
        void onPrepared(OutgoingMigration migration);

        /** The migration ended. */
        void onEnded(OutgoingMigration migration, MigrationReport report);
    }

    /** @return the migration's id on the wire */
    long id();

    /** Starts the migration's thread. */
    void start();

    /** Lets a held migration pause its VM and send the rest. */
    void releaseToStop();

    /**
     * The verdict once every VM of an evacuation is prepared.
     *
     * @param go true: the target may run the VM; false: it resumes here
     */
    void switchOver(boolean go);

    /** A reply from the target (accept, round, prepared, done), on the event loop. */
    void onReply(FrameType type, ByteBuf in);

    /** The target gave the migration up. */
    void onAbort(String reason);

    /** The migration channel closed. */
    void linkLost();
}
