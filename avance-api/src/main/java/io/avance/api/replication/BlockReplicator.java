package io.avance.api.replication;

import io.avance.api.NodeId;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Synchronous replication of block volumes to the peer node.
 *
 * <p>Guarantees, for each volume, while the node is primary:
 * <ul>
 *   <li>a write completes only when applied on both nodes (durable on both with FUA, and after
 *       a flush); overlapping writes end in the same order on both copies;</li>
 *   <li>while the peer is away, every changed block is recorded in a persistent dirty bitmap,
 *       correctly even across a crash of this node, and only those blocks are resent when the
 *       peer returns;</li>
 *   <li>split brain (both nodes changed the volume independently) is reported and replication
 *       stays off until {@link #resolveSplitBrain} names the side whose changes are discarded.</li>
 * </ul>
 *
 * <p>Implementations are thread-safe. Volumes are created and opened on the primary; the backup
 * holds replicas that it does not serve.
 */
public interface BlockReplicator {

    /**
     * Creates a volume, on this node and (now or when it next connects) on the peer.
     *
     * @param spec what the volume should be
     * @return the new volume, all zeros
     * @throws VolumeException if a volume of that name exists, the disk is full, or this node is
     *                         not primary
     */
    Volume create(VolumeSpec spec);

    /**
     * Opens an existing volume.
     *
     * @param name the volume's name
     * @return the volume
     * @throws VolumeException if there is no such volume or this node may not serve it
     */
    Volume open(String name);

    /**
     * The status of every volume.
     *
     * @return one status per volume, by name
     */
    List<VolumeStatus> volumes();

    /**
     * The status of one volume.
     *
     * @param name the volume's name
     * @return its status, or empty if there is no such volume
     */
    Optional<VolumeStatus> status(String name);

    /**
     * The state of this node's data, over all volumes: the worst of them.
     *
     * @return {@link DataState#UP_TO_DATE} if there are no volumes
     */
    DataState dataState();

    /**
     * Compares checksums of both copies of a volume, block by block, in the background.
     *
     * @param name            the volume
     * @param markForResync   whether to mark mismatching blocks so the next resync repairs them
     * @return a stage that completes with the report, or exceptionally if the peer is away
     */
    CompletionStage<VerifyReport> verify(String name, boolean markForResync);

    /**
     * Resolves a split brain by discarding one node's changes since the two diverged. The other
     * node's copy is then resynchronised onto it.
     *
     * @param name    the volume in split brain
     * @param discard the node whose changes are thrown away
     * @throws VolumeException if the volume is not in split brain
     */
    void resolveSplitBrain(String name, NodeId discard);
}
