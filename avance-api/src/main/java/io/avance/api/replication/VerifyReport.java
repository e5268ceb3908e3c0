package io.avance.api.replication;

import java.util.List;

/**
 * The result of an online verify: a block-by-block comparison of checksums of both copies.
 *
 * @param volume            the volume compared
 * @param blocksCompared    how many blocks were compared
 * @param blockSizeBytes    the size of one block
 * @param mismatchedBlocks  the indexes of blocks whose copies differ (at most the first 10,000)
 * @param mismatchCount     how many blocks differ in all
 * @param markedForResync   whether the mismatched blocks were marked for resync
 * @param durationNanos     how long the comparison took
 */
public record VerifyReport(String volume, long blocksCompared, int blockSizeBytes, List<Long> mismatchedBlocks,
                           long mismatchCount, boolean markedForResync, long durationNanos) {

    /**
     * Copies the list.
     */
    public VerifyReport {
        mismatchedBlocks = List.copyOf(mismatchedBlocks);
    }
}
