package io.avance.testkit.hypervisor;

import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A background guest thread that writes at a fixed rate: the base of the memory dirtier and the
 * disk writer. Each batch of writes passes through the guest's {@link GuestGate}, so a paused
 * guest writes nothing; after a pause (or a long GC) the writer does not burst to catch up, it
 * starts counting again, as a guest's workload would simply have been delayed.
 *
 * <p>The generator's state is only touched inside the gate, so a saver that holds the gate closed
 * reads it consistently.
 */
abstract class PacedWriter implements Runnable {

    /** The longest backlog the writer makes up for, in nanoseconds. */
    private static final long MAX_BACKLOG_NANOS = 100_000_000L;

    private final GuestGate gate;
    private final long bytesPerSecond;
    private final int unitBytes;
    private final int batchUnits;
    private final Consumer<Throwable> onFault;
    protected final SplitMix64 random;
    private volatile long unitsWritten;

    PacedWriter(GuestGate gate, long bytesPerSecond, int unitBytes, int batchUnits, long randomState,
                Consumer<Throwable> onFault) {
        this.gate = gate;
        this.bytesPerSecond = bytesPerSecond;
        this.unitBytes = unitBytes;
        this.batchUnits = batchUnits;
        this.random = new SplitMix64(randomState);
        this.onFault = onFault;
    }

    /**
     * Writes one unit (a page's worth of memory, a block of disk). Called inside the gate.
     *
     * @throws Exception if the write failed; the guest is then crashed
     */
    protected abstract void writeOne() throws Exception;

    /** @return the generator's state; call only with the gate closed */
    long randomState() {
        return random.state();
    }

    /** @return how many units this writer wrote */
    long unitsWritten() {
        return unitsWritten;
    }

    @Override
    public final void run() {
        double unitsPerNano = bytesPerSecond / (double) unitBytes / 1e9;
        long start = System.nanoTime();
        long done = 0;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                long now = System.nanoTime();
                long due = (long) ((now - start) * unitsPerNano) - done;
                if (due <= 0) {
                    // Pacing, not waiting for a condition: the next unit is due this much later.
                    long wait = (long) ((done + 1) / unitsPerNano) - (now - start);
                    LockSupport.parkNanos(Math.max(10_000L, Math.min(wait, 10_000_000L)));
                    continue;
                }
                if (due > MAX_BACKLOG_NANOS * unitsPerNano + batchUnits) {
                    start = now;
                    done = 0;
                    continue;
                }
                int batch = (int) Math.min(due, batchUnits);
                gate.enter();
                try {
                    for (int i = 0; i < batch; i++) {
                        writeOne();
                        unitsWritten++;
                    }
                } finally {
                    gate.exit();
                }
                done += batch;
            }
        } catch (GuestGate.GuestStoppedException e) {
            // The guest stopped: this thread ends with it.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            if (!gate.isStopped()) {
                onFault.accept(e);
            }
        }
    }
}
