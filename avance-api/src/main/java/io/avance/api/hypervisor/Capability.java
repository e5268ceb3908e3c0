package io.avance.api.hypervisor;

/**
 * What a hypervisor adapter can do beyond the basic lifecycle.
 */
public enum Capability {
    /** Pause and resume a running VM. */
    PAUSE,
    /** Reboot a VM in place. */
    REBOOT,
    /** Read and write guest memory ({@link HypervisorAdapter#guestMemory}, {@link HypervisorAdapter#prepareIncoming}). */
    GUEST_MEMORY_ACCESS,
    /** Record which guest pages are written ({@link io.avance.api.migration.GuestMemory#startDirtyLogging}). */
    DIRTY_PAGE_LOGGING,
    /** Save and restore a paused VM's device state ({@link HypervisorAdapter#saveDeviceState}). */
    DEVICE_STATE,
    /** Migrate through the hypervisor's own stream ({@link HypervisorAdapter#nativeMigration}). */
    NATIVE_MIGRATION,
    /** Power the peer node off ({@link HypervisorAdapter#fencer}). */
    FENCING
}
