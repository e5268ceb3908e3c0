/**
 * A volume's storage on one node: its data, the record of which blocks may differ from the
 * peer, and its identity across outages.
 *
 * <ul>
 *   <li>{@link io.avance.core.storage.BlockStore}: where the bytes live (a file, or a block
 *       device), behind an SPI so that tests can inject disk failures;</li>
 *   <li>{@link io.avance.core.storage.DirtyBitmap}: one bit per block (4 KiB by default) for
 *       blocks that may differ on the peer;</li>
 *   <li>{@link io.avance.core.storage.ActivityLog}: the extents (4 MiB) that writes may be touching,
 *       persisted before any write touches them, so that after a crash every block that might
 *       have changed is found again (DRBD's activity log);</li>
 *   <li>{@link io.avance.core.storage.VolumeMeta}: size, generation identifiers, and whether this
 *       copy is consistent, written atomically.</li>
 * </ul>
 *
 * <h2>Why no changed block is ever missed</h2>
 * A write may only touch an extent that is in the persisted activity log. An extent leaves the
 * log only after its dirty bits are durably in the bitmap file. After a crash, the dirty set is
 * the bitmap file plus every block of every extent in the log: a superset of every block written
 * and not known to be on the peer.
 */
package io.avance.core.storage;
