package io.avance.api.failover;

import java.util.Objects;
import java.util.Optional;

/**
 * What a node should do, and why.
 *
 * @param action what to do
 * @param vm     the VM concerned, for {@link Action#RESTART_VM}; empty otherwise
 * @param reason one sentence for the audit journal and the operator
 */
public record FailoverDecision(Action action, Optional<String> vm, String reason) {

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a VM is named for an action other than
     *                                  {@link Action#RESTART_VM}, or none is named for it
     */
    public FailoverDecision {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(vm, "vm");
        Objects.requireNonNull(reason, "reason");
        if ((action == Action.RESTART_VM) != vm.isPresent()) {
            throw new IllegalArgumentException("a VM name goes with RESTART_VM and only with it: " + action + " " + vm);
        }
    }

    /** The actions a policy can choose. */
    public enum Action {
        /** Nothing to do. */
        STAY,
        /** Primary: move the VMs to the peer gracefully by live migration, then swap roles. */
        MIGRATE_TO_PEER,
        /** Become primary in a new epoch (after a primary crash, or when elected). */
        TAKE_OVER,
        /** Primary: reboot the backup (a serious backup fault, or a split private link). */
        REBOOT_BACKUP,
        /** Primary: stop counting on the backup; an operator must repair it. */
        DECLARE_BACKUP_DOWN,
        /** Restart a failed VM where it ran. */
        RESTART_VM,
        /** Stop serving: this node cannot prove it may still serve. */
        SELF_ISOLATE
    }

    /**
     * Nothing to do.
     *
     * @param reason why
     * @return the decision
     */
    public static FailoverDecision stay(String reason) {
        return new FailoverDecision(Action.STAY, Optional.empty(), reason);
    }

    /**
     * An action that concerns no particular VM.
     *
     * @param action the action (not {@link Action#RESTART_VM})
     * @param reason why
     * @return the decision
     */
    public static FailoverDecision of(Action action, String reason) {
        return new FailoverDecision(action, Optional.empty(), reason);
    }

    /**
     * Restart a failed VM.
     *
     * @param vm     the VM's name
     * @param reason why
     * @return the decision
     */
    public static FailoverDecision restartVm(String vm, String reason) {
        return new FailoverDecision(Action.RESTART_VM, Optional.of(vm), reason);
    }

    @Override
    public String toString() {
        return action + vm.map(name -> " " + name).orElse("") + ": " + reason;
    }
}
