package io.avance.testkit.hypervisor;

import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeException;
import io.avance.api.replication.VolumeStatus;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** A volume in a heap array, for tests of the disk log without files; writes can be made to fail. */
final class MemoryVolume implements Volume {

    final byte[] data;
    private final String name;
    volatile boolean failWrites;

    MemoryVolume(String name, int sizeBytes) {
        this.name = name;
        this.data = new byte[sizeBytes];
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeBytes() {
        return data.length;
    }

    @Override
    public synchronized CompletionStage<Void> read(long offset, ByteBuffer destination) {
        if (offset < 0 || offset + destination.remaining() > data.length) {
            return CompletableFuture.failedFuture(new VolumeException(VolumeException.Reason.OUT_OF_RANGE, "range"));
        }
        destination.duplicate().put(data, (int) offset, destination.remaining());
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletionStage<Void> write(long offset, ByteBuffer source, boolean fua) {
        if (failWrites) {
            return CompletableFuture.failedFuture(new VolumeException("the test fails this write"));
        }
        if (offset < 0 || offset + source.remaining() > data.length) {
            return CompletableFuture.failedFuture(new VolumeException(VolumeException.Reason.OUT_OF_RANGE, "range"));
        }
        source.duplicate().get(data, (int) offset, source.remaining());
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletionStage<Void> trim(long offset, long length) {
        java.util.Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length, boolean fua) {
        return trim(offset, length);
    }

    @Override
    public VolumeStatus status() {
        throw new UnsupportedOperationException("not needed by these tests");
    }
}
