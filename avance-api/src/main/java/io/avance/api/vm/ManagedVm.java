package io.avance.api.vm;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.MigrationProgress;
import java.util.Objects;
import java.util.Optional;

/**
 * One VM as the pair manages it, at one moment.
 *
 * @param spec      what the VM is
 * @param wanted    whether it should run (it is then started, and restarted after a crash or a
 *                  takeover)
 * @param state     its state on the node that reports it
 * @param node      the node it runs on, if it runs
 * @param restarts  restarts within the restart window (crashes the pair recovered from)
 * @param detail    the last thing that happened to it, in a sentence
 * @param migration the migration under way, if any
 */
public record ManagedVm(VmSpec spec, boolean wanted, VmState state, Optional<NodeId> node, int restarts,
                        String detail, Optional<MigrationProgress> migration) {

    /**
     * Validates the fields.
     */
    public ManagedVm {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(migration, "migration");
    }

    /**
     * The VM's name.
     *
     * @return {@code spec().name()}
     */
    public String name() {
        return spec.name();
    }
}
