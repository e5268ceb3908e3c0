package io.avance.core.nbd;

import io.avance.core.replication.ReplicatedVolume;
import java.util.List;
import java.util.Optional;

/**
 * What the NBD server serves: the node's volumes, and whether the node may serve them now.
 */
public interface NbdExports {

    /**
     * The export names: one per volume.
     *
     * @return the names, sorted
     */
    List<String> names();

    /**
     * A volume by export name.
     *
     * @param name the export name
     * @return the volume, or empty if there is none by that name
     */
    Optional<ReplicatedVolume> volume(String name);

    /**
     * Tells whether this node may serve its volumes now (it is the primary and holds its lease).
     *
     * @return true if it may
     */
    boolean mayServe();

    /**
     * Tells whether a client may read an export from this node's own copy although the node does
     * not serve: while a VM using it arrives here by live migration, the hypervisor attaches its
     * disks before this node becomes primary, and the host reads them then (a partition scan when
     * the device opens). Only reads: a write still needs {@link #mayServe()}.
     *
     * @param name the export name
     * @return true if reads of it are allowed now
     */
    boolean mayReadCopy(String name);

    /**
     * Why this node does not serve, for a client that reached the wrong node.
     *
     * @return a sentence naming this node's role and, if known, the primary to connect to
     */
    String notServingReason();
}
