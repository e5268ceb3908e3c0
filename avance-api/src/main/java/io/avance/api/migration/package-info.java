/**
 * Live migration of a VM's memory to the peer node.
 *
 * <p>A {@link io.avance.api.migration.MemoryMigrator} moves a running VM by iterative pre-copy:
 * first every page, then rounds of the pages the guest dirtied meanwhile, until what is left can
 * be sent within the pause target; then it pauses the VM, sends the rest with the device state,
 * and resumes the VM on the target. It reads the source through
 * {@link io.avance.api.migration.GuestMemory}, the SPI a hypervisor adapter provides, and writes
 * the target through an {@link io.avance.api.migration.IncomingVm}.
 */
package io.avance.api.migration;
