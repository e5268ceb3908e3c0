package io.avance.api.vm;

import io.avance.api.hypervisor.VmSpec;
import java.util.List;
import java.util.Optional;

/**
 * The pair's VMs: define, start, stop, restart, and see them.
 *
 * <p>VMs run on the primary; when the primary role moves (a switchover live-migrates them, a
 * takeover restarts them from their replicated disks), they move with it. Definitions and the
 * wish to run are replicated to the peer and persisted on both nodes.
 *
 * <p>Changes are accepted only by the primary ({@link VmException.Reason#NOT_PRIMARY} otherwise).
 * Calls block until the change is made and persisted on this node (a start returns when the VM
 * runs); they are thread-safe. A VM whose start would leave the smaller node unable to host every
 * running VM is refused ({@link VmException.Reason#ADMISSION}), with the numbers in the message.
 */
public interface VmManager {

    /**
     * Defines a VM, or does nothing if the same spec is defined already.
     *
     * @param spec  the VM
     * @param start whether to start it now (and after every takeover)
     * @return the VM as managed now
     * @throws VmException if this node is not primary, a different VM of that name exists, its disks
     *                     do not exist, the hypervisor refuses the spec, or starting it would break
     *                     admission control
     */
    ManagedVm define(VmSpec spec, boolean start);

    /**
     * Forgets a stopped VM on both nodes. Its disks are kept.
     *
     * @param name the VM
     * @throws VmException if it runs, or does not exist
     */
    void undefine(String name);

    /**
     * Starts a VM and keeps it running (restarting it after crashes, within the restart limit).
     *
     * @param name the VM
     * @return the VM, running
     * @throws VmException if it does not exist, admission control refuses it, or it cannot start
     */
    ManagedVm start(String name);

    /**
     * Shuts a VM down cleanly and keeps it stopped.
     *
     * @param name the VM
     * @return the VM, stopped
     * @throws VmException if it does not exist
     */
    ManagedVm stop(String name);

    /**
     * Restarts a VM: stops it at once (as pulling its plug would) and starts it again. Clears a
     * {@code FAILED} state after too many crashes.
     *
     * @param name the VM
     * @return the VM, running
     * @throws VmException if it does not exist or cannot start
     */
    ManagedVm restart(String name);

    /**
     * Every VM of the pair.
     *
     * @return the VMs, by name
     */
    List<ManagedVm> list();

    /**
     * One VM.
     *
     * @param name the VM
     * @return the VM, or empty if there is none by that name
     */
    Optional<ManagedVm> get(String name);
}
