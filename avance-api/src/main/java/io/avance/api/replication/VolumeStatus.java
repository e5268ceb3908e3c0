package io.avance.api.replication;

import java.util.Optional;

/**
 * One volume's replication status on one node, at one moment.
 *
 * @param name              the volume's name
 * @param sizeBytes         its size
 * @param state             the replication state
 * @param localData         what this node knows of its own copy
 * @param peerData          what this node knows of the peer's copy
 * @param dirtyBytes        data marked as changed and not yet on the peer
 * @param resync            progress of the resync under way, if any
 * @param lastVerify        the result of the last online verify, if any
 */
public record VolumeStatus(String name, long sizeBytes, ReplicationState state, DataState localData,
                           DataState peerData, long dirtyBytes, Optional<ResyncProgress> resync,
                           Optional<VerifyReport> lastVerify) {
}
