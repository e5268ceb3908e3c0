/**
 * Synchronous replication of block volumes between the two nodes of a pair.
 *
 * <p>A {@link io.avance.api.replication.BlockReplicator} keeps every
 * {@link io.avance.api.replication.Volume} identical on both nodes: a write completes only when
 * it has been applied on both (DRBD's protocol C), and a flush, or a write with FUA, only when
 * it is durable on both. While the peer is away, the primary records changed blocks in a
 * persistent dirty bitmap, and when the peer returns only those blocks are resynchronised.
 * Per-volume generation identifiers decide the direction of a resync and detect split brain,
 * which is never resolved by discarding data silently: the operator chooses the side to
 * discard through {@link io.avance.api.replication.BlockReplicator#resolveSplitBrain}.
 *
 * <p>{@link io.avance.api.replication.DataState} tells the failover policy whether a node's
 * copy may be served.
 */
package io.avance.api.replication;
