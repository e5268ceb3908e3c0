package io.avance.testkit.hypervisor;

import io.avance.api.replication.Volume;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * Writes the scratch area of the guest's first disk (after the log area, see
 * {@link GuestLayout}) at {@code sim.disk-rate}: random 4 KiB blocks of random bytes, without FUA,
 * each waited for, as a guest's ordinary buffered writes. Exercises replication under load. A
 * failed write is counted and the guest goes on.
 */
final class DiskScratchWriter extends PacedWriter {

    static final int BLOCK = 4096;

    private final Volume disk;
    private final long firstBlock;
    private final long blocks;
    private final ByteBuffer block = ByteBuffer.allocate(BLOCK);
    private volatile long errors;

    DiskScratchWriter(Volume disk, GuestGate gate, long bytesPerSecond, long randomState,
                      Consumer<Throwable> onFault) {
        super(gate, bytesPerSecond, BLOCK, 1, randomState, onFault);
        this.disk = disk;
        this.firstBlock = GuestLayout.logAreaBytes(disk.sizeBytes()) / BLOCK;
        this.blocks = disk.sizeBytes() / BLOCK - firstBlock;
    }

    /** @return whether the disk has a scratch area at all */
    boolean hasScratch() {
        return blocks > 0;
    }

    @Override
    protected void writeOne() throws Exception {
        long target = firstBlock + random.nextBelow(blocks);
        block.clear();
        while (block.hasRemaining()) {
            block.putLong(random.next());
        }
        block.flip();
        try {
            KvLog.await(disk.write(target * BLOCK, block, false).toCompletableFuture(),
                    "write of scratch block " + target);
        } catch (java.io.IOException e) {
            // A guest whose disk fails a write goes on (and would log it); it does not die.
            errors++;
        }
    }

    /** @return how many scratch writes failed */
    long errors() {
        return errors;
    }
}
