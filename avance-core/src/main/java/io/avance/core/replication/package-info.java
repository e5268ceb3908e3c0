/**
 * Synchronous replication of volumes between the two nodes of a pair (DRBD's protocol C), with
 * resynchronisation after outages, online verify, and remote I/O when the primary's disk fails.
 *
 * <p>{@link io.avance.core.replication.VolumeManager} is the node's
 * {@link io.avance.api.replication.BlockReplicator}. Each volume is a
 * {@link io.avance.core.replication.ReplicatedVolume} whose state belongs to one I/O thread: every
 * write, flush, replicated message and resync step of a volume runs there, in order, which is
 * what keeps overlapping writes in the same order on both copies and keeps resync data from
 * overtaking newer writes. Replication traffic uses the private link's data channel (a second
 * authenticated connection), so that bulk data never delays the heartbeats on the control
 * channel. The messages are specified in {@code docs/protocol.md}.
 */
package io.avance.core.replication;
