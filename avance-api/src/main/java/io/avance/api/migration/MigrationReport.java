package io.avance.api.migration;

import io.avance.api.NodeId;
import java.util.Optional;

/**
 * What one migration did.
 *
 * @param vm           the VM
 * @param source       the node it left
 * @param target       the node it went to
 * @param outcome      {@link MigrationPhase#COMPLETED}, {@link MigrationPhase#CANCELLED} or
 *                     {@link MigrationPhase#FAILED}
 * @param rounds       pre-copy rounds, the full copy included
 * @param bytesSent    bytes sent in all
 * @param pagesSent    pages sent as data, counting a page each time it was sent
 * @param zeroPages    pages sent as a zero marker only
 * @param memoryBytes  the guest's memory size
 * @param totalNanos   from start to the VM running on the target (or to the end, if it failed)
 * @param pauseNanos   how long the VM was paused
 * @param failure      why it did not complete, if it did not
 */
public record MigrationReport(String vm, NodeId source, NodeId target, MigrationPhase outcome, int rounds,
                              long bytesSent, long pagesSent, long zeroPages, long memoryBytes, long totalNanos,
                              long pauseNanos, Optional<String> failure) {
}
