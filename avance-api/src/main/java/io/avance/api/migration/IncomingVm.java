package io.avance.api.migration;

/**
 * The target side of a migration: a VM created paused, whose memory the migrator fills before
 * it is resumed.
 *
 * <p>Exactly one of {@link #activate} and {@link #abort} is called, once.
 */
public interface IncomingVm {

    /**
     * The memory to fill.
     *
     * @return the new VM's guest memory
     */
    GuestMemory memory();

    /**
     * Restores the device state saved on the source and resumes the VM.
     *
     * @param deviceState what {@link io.avance.api.hypervisor.HypervisorAdapter#saveDeviceState}
     *                    returned on the source
     * @throws MigrationException if the VM cannot be resumed; it is then destroyed
     */
    void activate(byte[] deviceState);

    /**
     * Destroys the half-built VM; the source keeps running.
     */
    void abort();
}
