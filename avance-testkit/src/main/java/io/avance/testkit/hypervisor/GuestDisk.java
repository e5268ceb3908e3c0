package io.avance.testkit.hypervisor;

import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeStatus;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A guest's view of its disk: the volume, with a count of the operations in flight.
 *
 * <p>Why: when a guest is destroyed or crashes, its threads are interrupted and stop waiting for
 * their writes, but a write already handed to the volume still lands. If the VM were booted again
 * at once, such a late write of the dead guest could land on top of a log record the new boot had
 * just written and acknowledged. So the hypervisor waits, after killing a guest, until the
 * writes it had issued have completed ({@link #awaitQuiet}) - as a real disk controller finishes
 * the commands it has accepted even when the host resets the VM. Thread-safe.
 */
final class GuestDisk implements Volume {

    private final Volume volume;
    private final Object lock = new Object();
    private int inFlight;

    GuestDisk(Volume volume) {
        this.volume = volume;
    }

    @Override
    public String name() {
        return volume.name();
    }

    @Override
    public long sizeBytes() {
        return volume.sizeBytes();
    }

    @Override
    public CompletionStage<Void> read(long offset, ByteBuffer destination) {
        return track(() -> volume.read(offset, destination));
    }

    @Override
    public CompletionStage<Void> write(long offset, ByteBuffer data, boolean fua) {
        return track(() -> volume.write(offset, data, fua));
    }

    @Override
    public CompletionStage<Void> flush() {
        return track(volume::flush);
    }

    @Override
    public CompletionStage<Void> trim(long offset, long length) {
        return track(() -> volume.trim(offset, length));
    }

    @Override
    public CompletionStage<Void> writeZeroes(long offset, long length, boolean fua) {
        return track(() -> volume.writeZeroes(offset, length, fua));
    }

    @Override
    public VolumeStatus status() {
        return volume.status();
    }

    /**
     * Waits until no operation is in flight.
     *
     * @param timeout the longest wait
     * @return true if none is
     */
    boolean awaitQuiet(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        synchronized (lock) {
            try {
                while (inFlight > 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    try {
                        lock.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                return true;
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private CompletionStage<Void> track(Supplier<CompletionStage<Void>> operation) {
        // Counted before it is issued, so that a waiter never misses an operation being issued.
        synchronized (lock) {
            inFlight++;
        }
        CompletionStage<Void> issued;
        try {
            issued = operation.get();
        } catch (RuntimeException e) {
            done();
            throw e;
        }
        return issued.whenComplete((ignored, failure) -> done());
    }

    private void done() {
        synchronized (lock) {
            inFlight--;
            if (inFlight == 0) {
                lock.notifyAll();
            }
        }
    }
}
