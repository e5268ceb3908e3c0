/**
 * Live migration of VMs to the peer by iterative pre-copy of guest memory, over the private
 * link's migration channel.
 *
 * <p>The source ({@link io.avance.core.migration.PreCopyMigration}) copies every page, then rounds
 * of the pages the guest dirtied meanwhile, until {@link io.avance.core.migration.ConvergencePlanner}
 * says the rest fits the pause target at the measured bandwidth (or the round limit is hit); then
 * it pauses the VM, sends the last pages and the device state, and the target
 * ({@link io.avance.core.migration.IncomingMigration}) holds the complete, paused VM. Only once the
 * source can never resume its copy (it has handed the primary role over) does it tell the target to
 * activate: so two copies never run at once. A migration that fails or is cancelled before that
 * leaves the VM running on the source.
 *
 * <p>{@link io.avance.core.migration.Evacuation} moves every VM at once for a graceful failover:
 * all pre-copy together, pause together, and the role changes between the last page and the
 * activation. The wire format is in docs/protocol.md (section "The migration channel").
 */
package io.avance.core.migration;
