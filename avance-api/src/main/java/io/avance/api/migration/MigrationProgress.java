package io.avance.api.migration;

/**
 * Where one migration stands.
 *
 * @param vm                the VM's name
 * @param phase             the current phase
 * @param round             the pre-copy round under way (1 is the full copy)
 * @param bytesSent         bytes sent so far, page data and headers
 * @param pagesSent         pages sent as data
 * @param zeroPages         pages sent as a zero marker only
 * @param dirtyPagesLeft    pages known dirty and not yet sent
 * @param memoryBytes       the guest's memory size
 */
public record MigrationProgress(String vm, MigrationPhase phase, int round, long bytesSent, long pagesSent,
                                long zeroPages, long dirtyPagesLeft, long memoryBytes) {
}
