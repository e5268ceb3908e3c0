package io.avance.api.migration;

import io.avance.api.NodeId;

/**
 * Live migration of VMs to the peer node by iterative pre-copy of guest memory.
 *
 * <p>Several VMs may migrate at once; each migration is independent, and one that fails or is
 * cancelled leaves its VM running on the source. Thread-safe.
 */
public interface MemoryMigrator {

    /**
     * Starts migrating a running VM to the peer.
     *
     * @param vm      the VM's name
     * @param target  the node to move it to (the peer)
     * @param options pause target, round limit and bandwidth
     * @return a handle on the migration under way
     * @throws MigrationException if the migration cannot start (no such VM, the peer is away, the
     *                            VM is already migrating)
     */
    MigrationHandle migrate(String vm, NodeId target, MigrationOptions options);
}
