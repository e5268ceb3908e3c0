package io.avance.api.hypervisor;

import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The SPI a hypervisor implements so that a pair can run VMs on it.
 *
 * <p>Lifecycle: the engine calls {@link #probe()}, then {@link #open} once, then any other
 * method, then {@link #close()} once. Every method other than {@code probe} and {@code open}
 * may be called from several engine threads at once; implementations must be thread-safe.
 * Calls block until the hypervisor has done what was asked (a start returns when the VM runs),
 * and fail with {@link HypervisorException} saying what the hypervisor answered.
 * Methods that need a {@link Capability} the adapter lacks throw
 * {@link UnsupportedOperationException}.
 *
 * <p>An adapter must never take the process down: native failures are turned into exceptions.
 * Found through {@link java.util.ServiceLoader} or passed in by the embedding program.
 */
public interface HypervisorAdapter extends AutoCloseable {

    /**
     * A short name for logs and the monitor ("xen", "simulated", "qemu").
     *
     * @return the adapter's name
     */
    String name();

    /**
     * Tells whether the adapter can run on this machine, without side effects.
     *
     * @return available, or what is missing
     */
    Availability probe();

    /**
     * Connects to the hypervisor.
     *
     * @param context what the engine provides
     * @throws HypervisorException if the hypervisor cannot be reached
     */
    void open(HypervisorContext context);

    /**
     * What this adapter can do beyond the basic lifecycle.
     *
     * @return the capabilities
     */
    Set<Capability> capabilities();

    /**
     * What this node can give its VMs.
     *
     * @return cores and memory available to guests
     */
    HostResources hostResources();

    /**
     * Every VM the hypervisor knows that this engine defined.
     *
     * @return the VMs, by name
     */
    List<VmInfo> list();

    /**
     * One VM.
     *
     * @param vm the VM's name
     * @return what the hypervisor reports, or empty if it does not know the VM
     */
    Optional<VmInfo> info(String vm);

    /**
     * Makes a VM known to the hypervisor without starting it. Defining a VM that exists with the
     * same spec does nothing.
     *
     * @param spec the VM
     * @throws HypervisorException if the spec is refused (an unknown option, a disk that cannot be
     *                             attached) or a different VM of that name exists
     */
    void define(VmSpec spec);

    /**
     * Forgets a stopped VM.
     *
     * @param vm the VM's name
     */
    void undefine(String vm);

    /**
     * Starts a defined or stopped VM; returns when it runs.
     *
     * @param vm the VM's name
     */
    void start(String vm);

    /**
     * Asks the guest to shut down; returns when it has stopped.
     *
     * @param vm the VM's name
     */
    void shutdown(String vm);

    /**
     * Stops a VM at once, as pulling its plug would.
     *
     * @param vm the VM's name
     */
    void destroy(String vm);

    /**
     * Reboots a VM in place.
     *
     * @param vm the VM's name
     */
    void reboot(String vm);

    /**
     * Pauses a running VM.
     *
     * @param vm the VM's name
     */
    void pause(String vm);

    /**
     * Resumes a paused VM.
     *
     * @param vm the VM's name
     */
    void resume(String vm);

    /**
     * Registers a listener for VM events (crash, shutdown, death).
     *
     * @param listener called on an adapter thread
     * @return closing it unregisters the listener
     */
    AutoCloseable addListener(VmEventListener listener);

    /**
     * Guest memory of a running VM, for the engine's own pre-copy migration.
     *
     * @param vm the VM's name
     * @return access to its memory
     * @throws UnsupportedOperationException without {@link Capability#GUEST_MEMORY_ACCESS}
     */
    GuestMemory guestMemory(String vm);

    /**
     * The device state of a paused VM (virtual CPU registers, device models), to restore on the
     * target of a migration.
     *
     * @param vm the VM's name
     * @return the opaque state
     * @throws UnsupportedOperationException without {@link Capability#DEVICE_STATE}
     */
    byte[] saveDeviceState(String vm);

    /**
     * Creates a paused VM whose memory the engine fills from a migration stream.
     *
     * @param spec the VM being migrated in
     * @return the incoming VM
     * @throws UnsupportedOperationException without {@link Capability#GUEST_MEMORY_ACCESS}
     */
    IncomingVm prepareIncoming(VmSpec spec);

    /**
     * The hypervisor's own migration stream.
     *
     * @return the native migration
     * @throws UnsupportedOperationException without {@link Capability#NATIVE_MIGRATION}
     */
    NativeMigration nativeMigration();

    /**
     * A way to power the peer off, where the hardware allows it.
     *
     * @return the fencer, or empty
     */
    Optional<PeerFencer> fencer();

    /**
     * Disconnects from the hypervisor. VMs keep running.
     */
    @Override
    void close();
}
