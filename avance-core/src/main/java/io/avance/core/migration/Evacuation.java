package io.avance.core.migration;

import io.avance.api.migration.MigrationOptions;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationReport;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every VM of the primary moving to the backup at once: the VM half of a graceful failover.
 *
 * <pre>
 *   PRE_COPY (all VMs copy while they run)
 *      | every VM's rest fits its pause target
 *      v
 *   STOPPING (all pause, send their last pages and device state)
 *      | the target holds every VM: listener.onReadyToSwitch()  -- the node hands its role over
 *      v
 *   SWITCHED (switch(true): the targets run the VMs; this node's copies are destroyed)
 *
 *   any VM fails before the switch, or switch(false): every VM resumes here (listener.onFailed)
 * </pre>
 *
 * <p>The VMs pause together and the role changes between their last page and their activation,
 * so that no VM runs while the volumes it writes to change hands. Thread-safe: the migrations call
 * in from their own threads.
 */
public final class Evacuation implements OutgoingMigration.Listener {

    private static final Logger LOG = System.getLogger(Evacuation.class.getName());

    /** Told when the evacuation can switch, and how it ended. */
    public interface Listener {
        /** Every VM is paused here and held by the peer: hand the primary role over, then call {@link #switchOver}. */
        void onReadyToSwitch();

        /** The evacuation was given up before the switch; every VM runs here. */
        void onFailed(String reason);

        /** Every migration ended (after the switch, or after a failure). */
        void onEnded(List<MigrationReport> reports);
    }

    private enum Stage { PRE_COPY, STOPPING, SWITCHING, ENDED }

    private final MigrationEngine engine;
    private final List<String> vms;
    private final MigrationOptions options;
    private final Listener listener;
    private final Map<String, OutgoingMigration> migrations = new LinkedHashMap<>();
    private final List<String> converged = new ArrayList<>();
    private final List<String> prepared = new ArrayList<>();
    private final List<MigrationReport> reports = new ArrayList<>();
    private Stage stage = Stage.PRE_COPY;
    private boolean failureReported;

    Evacuation(MigrationEngine engine, List<String> vms, MigrationOptions options, Listener listener) {
        this.engine = engine;
        this.vms = List.copyOf(vms);
        this.options = options;
        this.listener = listener;
    }

    void start() {
        if (vms.isEmpty()) {
            listener.onReadyToSwitch();
            return;
        }
        synchronized (this) {
            for (String vm : vms) {
                try {
                    migrations.put(vm, engine.startOutgoing(vm, options, this));
                } catch (RuntimeException e) {
                    failBeforeSwitch("cannot migrate " + vm + ": " + e.getMessage());
                    return;
                }
            }
        }
    }

    /** @return the migrations under way, by VM */
    public synchronized List<io.avance.api.migration.MigrationHandle> migrations() {
        return List.copyOf(migrations.values());
    }

    /**
     * The node's verdict once every VM is ready.
     *
     * @param handedOver true if the node handed its primary role over: the peer runs the VMs now;
     *                   false if it did not: the VMs resume here
     */
    public void switchOver(boolean handedOver) {
        List<OutgoingMigration> all;
        synchronized (this) {
            if (stage != Stage.SWITCHING) {
                return;
            }
            all = List.copyOf(migrations.values());
        }
        if (!handedOver) {
            failBeforeSwitch("the primary role was not handed over");
            return;
        }
        for (OutgoingMigration migration : all) {
            migration.switchOver(true);
        }
    }

    /** Gives the evacuation up: every VM resumes here (before the switch only). */
    public void cancel(String reason) {
        failBeforeSwitch(reason);
    }

    @Override
    public void onConverged(OutgoingMigration migration) {
        List<OutgoingMigration> release = null;
        synchronized (this) {
            if (!converged.contains(migration.vm())) {
                converged.add(migration.vm());
            }
            if (stage == Stage.PRE_COPY && converged.size() == vms.size()) {
                stage = Stage.STOPPING;
                release = List.copyOf(migrations.values());
            }
        }
        if (release != null) {
            LOG.log(Level.INFO, "evacuation: all {0} VMs converged; pausing them together", vms.size());
            release.forEach(OutgoingMigration::releaseToStop);
        }
    }

    @Override
    public void onPrepared(OutgoingMigration migration) {
        boolean ready;
        synchronized (this) {
            if (!prepared.contains(migration.vm())) {
                prepared.add(migration.vm());
            }
            ready = stage == Stage.STOPPING && prepared.size() == vms.size();
            if (ready) {
                stage = Stage.SWITCHING;
            }
        }
        if (ready) {
            listener.onReadyToSwitch();
        }
    }

    @Override
    public void onEnded(OutgoingMigration migration, MigrationReport report) {
        boolean all;
        boolean failedBeforeSwitch;
        synchronized (this) {
            reports.add(report);
            all = reports.size() == migrations.size();
            failedBeforeSwitch = report.outcome() != MigrationPhase.COMPLETED && stage != Stage.ENDED
                    && stage != Stage.SWITCHING;
        }
        if (failedBeforeSwitch) {
            failBeforeSwitch(report.vm() + ": " + report.failure().orElse(report.outcome().name()));
        }
        if (all) {
            List<MigrationReport> copy;
            synchronized (this) {
                stage = Stage.ENDED;
                copy = List.copyOf(reports);
            }
            listener.onEnded(copy);
        }
    }

    private void failBeforeSwitch(String reason) {
        List<OutgoingMigration> all;
        boolean report;
        synchronized (this) {
            if (stage == Stage.ENDED && failureReported) {
                return;
            }
            report = !failureReported;
            failureReported = true;
            all = List.copyOf(migrations.values());
        }
        for (OutgoingMigration migration : all) {
            migration.cancel();
        }
        if (report) {
            LOG.log(Level.WARNING, "evacuation given up: {0}; every VM runs here", reason);
            listener.onFailed(reason);
        }
    }
}
