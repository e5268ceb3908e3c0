package io.avance.core.replication;

import io.avance.core.storage.BlockStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A simulated disk with a volatile write cache: a write is visible at once (the page cache) but
 * durable only after a {@link #sync()}; a power cut loses what was not synced, a process crash
 * loses nothing. It can be told to fail every operation (EIO), or to be full: writes fail with
 * ENOSPC while reads and syncs go on, so the failure stays latent until the next write.
 */
final class SimDisk implements BlockStore {

    private final byte[] durable;
    private final List<Pending> cache = new ArrayList<>();
    private boolean failing;
    private boolean full;
    private long syncs;

    private record Pending(long offset, byte[] bytes) {
    }

    SimDisk(int sizeBytes) {
        this.durable = new byte[sizeBytes];
    }

    /** The power goes: writes not yet synced are lost. */
    void powerCut() {
        cache.clear();
    }

    /** @param failing whether every operation fails from now on */
    void failing(boolean failing) {
        this.failing = failing;
    }

    /** @param full whether writes fail for lack of space from now on (reads and syncs still work) */
    void full(boolean full) {
        this.full = full;
    }

    /** @return the disk's contents as a reader sees them now (cache included) */
    byte[] contents() {
        byte[] view = durable.clone();
        for (Pending write : cache) {
            System.arraycopy(write.bytes(), 0, view, (int) write.offset(), write.bytes().length);
        }
        return view;
    }

    /** @return how many syncs completed */
    long syncs() {
        return syncs;
    }

    @Override
    public long sizeBytes() {
        return durable.length;
    }

    @Override
    public void read(long offset, ByteBuffer destination) throws IOException {
        check("read", offset, destination.remaining());
        int length = destination.remaining();
        byte[] view = new byte[length];
        System.arraycopy(durable, (int) offset, view, 0, length);
        for (Pending write : cache) {
            long from = Math.max(offset, write.offset());
            long to = Math.min(offset + length, write.offset() + write.bytes().length);
            if (from < to) {
                System.arraycopy(write.bytes(), (int) (from - write.offset()), view, (int) (from - offset),
                        (int) (to - from));
            }
        }
        destination.put(view);
    }

    @Override
    public void write(long offset, ByteBuffer source) throws IOException {
        check("write", offset, source.remaining());
        checkSpace("write", offset);
        byte[] bytes = new byte[source.remaining()];
        source.get(bytes);
        cache.add(new Pending(offset, bytes));
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        check("write zeroes", offset, length);
        checkSpace("write zeroes", offset);
        cache.add(new Pending(offset, new byte[(int) length]));
    }

    @Override
    public void sync() throws IOException {
        check("sync", 0, 0);
        for (Pending write : cache) {
            System.arraycopy(write.bytes(), 0, durable, (int) write.offset(), write.bytes().length);
        }
        cache.clear();
        syncs++;
    }

    @Override
    public void close() {
        // The disk outlives the process that had it open.
    }

    private void checkSpace(String operation, long offset) throws IOException {
        if (full) {
            throw new IOException("No space left on device (simulated, " + operation + " at " + offset + ")");
        }
    }

    private void check(String operation, long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset + length > durable.length) {
            throw new IOException(operation + " at " + offset + "+" + length + " is outside the disk");
        }
        if (failing) {
            throw new IOException("simulated disk failure (" + operation + " at " + offset + ")");
        }
    }
}
