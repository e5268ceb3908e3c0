package io.avance.core.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The extents of a volume that writes may be touching, persisted before any write touches them.
 *
 * <p>An extent (4 MiB by default) joins the log, durably, before the first write to it; it leaves
 * the log, least recently used first, once the log is full and its dirty bits have been made
 * durable in the bitmap file (the caller does that in {@link Evictor#persist}). After a crash,
 * every block of every extent in the log counts as dirty: whatever was being written there is
 * resynchronised, even if it never reached the bitmap.
 *
 * <p>On disk: two 4 KiB slots written alternately, each sealed with a sequence number and a
 * CRC32C, so that a crash in the middle of a write leaves the other slot intact.
 *
 * <pre>
 * slot: u32 magic "AVAL" | u32 version 1 | u64 sequence | u32 count | count x u64 extent | ... | u32 crc32c (last 4 bytes)
 * </pre>
 *
 * <p>Not thread-safe: owned by its volume's I/O thread.
 */
public final class ActivityLog implements AutoCloseable {

    /** Called before an extent leaves the log. */
    @FunctionalInterface
    public interface Evictor {
        /**
         * Makes the extent's dirty bits durable.
         *
         * @param extent the extent leaving the log
         * @throws IOException if that fails; the extent then stays
         */
        void persist(long extent) throws IOException;
    }

    private static final int MAGIC = 0x4156414C;
    private static final int SLOT_BYTES = 4096;
    private static final int MAX_EXTENTS = (SLOT_BYTES - 24) / 8;

    private final FileChannel channel;
    private final int capacity;
    private final int extentShift;
    private final LinkedHashSet<Long> hot = new LinkedHashSet<>();
    private final Set<Long> recovered;
    private long sequence;
    private long writes;

    /**
     * Opens (or creates) a log and reads back the extents it held.
     *
     * @param file        the log's file
     * @param extentShift log2 of the extent size
     * @param capacity    how many extents it holds at most
     * @throws IOException if it cannot be opened or read
     */
    public ActivityLog(Path file, int extentShift, int capacity) throws IOException {
        if (capacity < 1 || capacity > MAX_EXTENTS) {
            throw new IllegalArgumentException("activity log capacity must be 1-" + MAX_EXTENTS + ", was " + capacity);
        }
        this.capacity = capacity;
        this.extentShift = extentShift;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        this.recovered = readNewestSlot();
        this.hot.addAll(recovered);
    }

    /**
     * The extents that were in the log when it was opened: after a crash, these may hold writes
     * that reached this disk and not the peer.
     *
     * @return extent indexes
     */
    public Set<Long> recovered() {
        return recovered;
    }

    /** @return log2 of the extent size */
    public int extentShift() {
        return extentShift;
    }

    /** @return how many times the log was written (each write is an fsync) */
    public long writes() {
        return writes;
    }

    /**
     * Makes sure extents are in the durable log before a write touches them.
     *
     * @param firstExtent the first extent the write touches
     * @param lastExtent  the last one (inclusive)
     * @param pinned      extents that must not be evicted now (in-flight writes touch them)
     * @param evictor     persists an extent's bits before it leaves
     * @throws IOException if the log cannot be written
     */
    public void ensure(long firstExtent, long lastExtent, Set<Long> pinned, Evictor evictor) throws IOException {
        boolean changed = false;
        for (long extent = firstExtent; extent <= lastExtent; extent++) {
            if (hot.remove(extent)) {
                hot.add(extent);
                continue;
            }
            while (hot.size() >= capacity) {
                Long victim = null;
                for (Long candidate : hot) {
                    if (!pinned.contains(candidate) && (candidate < firstExtent || candidate > lastExtent)) {
                        victim = candidate;
                        break;
                    }
                }
                if (victim == null) {
                    break;
                }
                evictor.persist(victim);
                hot.remove(victim);
            }
            hot.add(extent);
            changed = true;
        }
        if (changed) {
            writeSlot();
        }
    }

    /**
     * Empties the log (after the dirty bitmap was made durable, at a clean shutdown).
     *
     * @throws IOException if it cannot be written
     */
    public void clear() throws IOException {
        hot.clear();
        writeSlot();
    }

    private void writeSlot() throws IOException {
        if (hot.size() > MAX_EXTENTS) {
            throw new IllegalStateException("activity log overfull: " + hot.size());
        }
        ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES);
        slot.putInt(MAGIC).putInt(1).putLong(++sequence).putInt(hot.size());
        for (long extent : hot) {
            slot.putLong(extent);
        }
        CRC32C crc = new CRC32C();
        crc.update(slot.array(), 0, SLOT_BYTES - 4);
        slot.putInt(SLOT_BYTES - 4, (int) crc.getValue());
        slot.clear();
        long position = (sequence % 2) * SLOT_BYTES;
        while (slot.hasRemaining()) {
            position += channel.write(slot, position);
        }
        channel.force(false);
        writes++;
    }

    private Set<Long> readNewestSlot() throws IOException {
        Set<Long> best = new LinkedHashSet<>();
        long bestSequence = 0;
        for (int index = 0; index < 2; index++) {
            ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES);
            long position = (long) index * SLOT_BYTES;
            while (slot.hasRemaining()) {
                int read = channel.read(slot, position + slot.position());
                if (read < 0) {
                    break;
                }
            }
            if (slot.hasRemaining()) {
                continue;
            }
            CRC32C crc = new CRC32C();
            crc.update(slot.array(), 0, SLOT_BYTES - 4);
            if (slot.getInt(0) != MAGIC || slot.getInt(SLOT_BYTES - 4) != (int) crc.getValue()) {
                continue;
            }
            long slotSequence = slot.getLong(8);
            int count = slot.getInt(16);
            if (slotSequence > bestSequence && count >= 0 && count <= MAX_EXTENTS) {
                bestSequence = slotSequence;
                best = new LinkedHashSet<>();
                for (int i = 0; i < count; i++) {
                    best.add(slot.getLong(20 + 8 * i));
                }
            }
        }
        sequence = bestSequence;
        return best;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
