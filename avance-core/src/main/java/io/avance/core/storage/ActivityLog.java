package io.avance.core.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
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
 * <p>Cost: every extent that joins the log costs one log write (an fsync) before the write
 * that touches it; a write to a hot extent costs nothing. So the log should cover the working set:
 * with the default of up to 1,024 extents of 4 MiB, 4 GiB of a volume can take random writes with
 * no log writes at all once warm. When the log is full, a batch of the least recently used extents
 * (a sixteenth of the log) leaves at once, so that one data fsync and one bitmap fsync pay for many
 * evictions. The price of a large log is paid after a crash: every extent in it is resynchronised.
 *
 * <p>On disk: two slots written alternately, each sealed with a sequence number and a CRC32C, so
 * that a crash in the middle of a write leaves the other slot intact. A slot is a whole number of
 * 4 KiB pages, enough for the log's capacity ({@link #slotBytes(int)}).
 *
 * <pre>
 * slot: u32 magic "AVAL" | u32 version 2 | u64 sequence | u32 count | count x u64 extent | ... | u32 crc32c (last 4 bytes)
 * </pre>
 *
 * <p>Not thread-safe: owned by its volume's I/O thread.
 */
public final class ActivityLog implements AutoCloseable {

    /** Called before extents leave the log. */
    @FunctionalInterface
    public interface Evictor {
        /**
         * Makes the extents' writes and dirty bits durable.
         *
         * @param extents the extents leaving the log, least recently used first
         * @throws IOException if that fails; the extents then stay
         */
        void persist(List<Long> extents) throws IOException;
    }

    private static final int MAGIC = 0x4156414C;
    private static final int VERSION = 2;
    private static final int PAGE = 4096;
    private static final int FIXED_BYTES = 24;
    /** The most extents one log may hold: a slot of 128 KiB. */
    public static final int MAX_EXTENTS = (32 * PAGE - FIXED_BYTES) / 8;

    private final FileChannel channel;
    private final int capacity;
    private final int slotBytes;
    private final int extentShift;
    private final LinkedHashSet<Long> hot = new LinkedHashSet<>();
    private final Set<Long> recovered;
    private boolean unreadable;
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
        this.slotBytes = slotBytes(capacity);
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

    /**
     * Tells whether the file held data but no intact slot this version can read (a torn file, or one
     * written by another version): after a crash, nothing is then known about where writes were,
     * and the caller must treat the whole volume as possibly changed.
     *
     * @return true if the log could not be read
     */
    public boolean unreadable() {
        return unreadable;
    }

    /** @return log2 of the extent size */
    public int extentShift() {
        return extentShift;
    }

    /**
     * The size of one slot for a log of a given capacity.
     *
     * @param capacity extents
     * @return bytes: the fixed fields and the extents, rounded up to whole 4 KiB pages
     */
    public static int slotBytes(int capacity) {
        return (FIXED_BYTES + 8 * capacity + PAGE - 1) / PAGE * PAGE;
    }

    /** @return how many extents the log holds at most */
    public int capacity() {
        return capacity;
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
        if (!hasRoom(firstExtent, lastExtent, pinned)) {
            throw new IOException("activity log full: " + hot.size() + " extents, every one touched by a write in "
                    + "flight (the caller must wait for hasRoom)");
        }
        List<Long> added = new ArrayList<>();
        for (long extent = firstExtent; extent <= lastExtent; extent++) {
            if (hot.remove(extent)) {
                hot.add(extent);
                continue;
            }
            if (hot.size() >= capacity) {
                evictBatch(firstExtent, lastExtent, pinned, evictor);
            }
            hot.add(extent);
            added.add(extent);
        }
        if (!added.isEmpty()) {
            try {
                writeSlot();
            } catch (IOException | RuntimeException e) {
                // Not durable: the extents are not in the log, so no write may count on them.
                added.forEach(hot::remove);
                throw e;
            }
        }
    }

    /**
     * Tells whether {@link #ensure} can make room for a range now: every extent it lacks fits in
     * the slot's free room or in the place of an extent no write in flight touches.
     *
     * @param firstExtent the first extent the write touches
     * @param lastExtent  the last one (inclusive)
     * @param pinned      extents that in-flight writes touch
     * @return true if ensure will not find the log full
     */
    public boolean hasRoom(long firstExtent, long lastExtent, Set<Long> pinned) {
        long missing = 0;
        for (long extent = firstExtent; extent <= lastExtent; extent++) {
            if (!hot.contains(extent)) {
                missing++;
            }
        }
        if (missing == 0) {
            return true;
        }
        long room = (slotBytes - FIXED_BYTES) / 8 - hot.size();
        if (missing <= room) {
            return true;
        }
        long evictable = 0;
        for (Long extent : hot) {
            if (!pinned.contains(extent) && (extent < firstExtent || extent > lastExtent) && ++evictable + room >= missing) {
                return true;
            }
        }
        return false;
    }

    /**
     * Makes room: the least recently used extents that no write in flight touches, a sixteenth of
     * the log at a time, leave together after one call to the evictor.
     */
    private void evictBatch(long firstExtent, long lastExtent, Set<Long> pinned, Evictor evictor) throws IOException {
        int batch = Math.max(1, capacity / 16);
        List<Long> victims = new ArrayList<>(batch);
        for (Long candidate : hot) {
            if (victims.size() == batch) {
                break;
            }
            if (!pinned.contains(candidate) && (candidate < firstExtent || candidate > lastExtent)) {
                victims.add(candidate);
            }
        }
        if (victims.isEmpty()) {
            // Every extent is in use by a write in flight: the log grows past its capacity into the
            // slot's spare room (hasRoom said there is enough), and shrinks at the next eviction.
            return;
        }
        evictor.persist(victims);
        victims.forEach(hot::remove);
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
        if (FIXED_BYTES + 8L * hot.size() > slotBytes) {
            throw new IOException("activity log overfull: " + hot.size() + " extents in a slot of " + slotBytes
                    + " bytes");
        }
        ByteBuffer slot = ByteBuffer.allocate(slotBytes);
        slot.putInt(MAGIC).putInt(VERSION).putLong(++sequence).putInt(hot.size());
        for (long extent : hot) {
            slot.putLong(extent);
        }
        CRC32C crc = new CRC32C();
        crc.update(slot.array(), 0, slotBytes - 4);
        slot.putInt(slotBytes - 4, (int) crc.getValue());
        slot.clear();
        long position = (sequence % 2) * slotBytes;
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
            ByteBuffer slot = ByteBuffer.allocate(slotBytes);
            long position = (long) index * slotBytes;
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
            crc.update(slot.array(), 0, slotBytes - 4);
            if (slot.getInt(0) != MAGIC || slot.getInt(4) != VERSION
                    || slot.getInt(slotBytes - 4) != (int) crc.getValue()) {
                continue;
            }
            long slotSequence = slot.getLong(8);
            int count = slot.getInt(16);
            if (slotSequence > bestSequence && count >= 0 && FIXED_BYTES + 8L * count <= slotBytes) {
                bestSequence = slotSequence;
                best = new LinkedHashSet<>();
                for (int i = 0; i < count; i++) {
                    best.add(slot.getLong(20 + 8 * i));
                }
            }
        }
        sequence = bestSequence;
        unreadable = bestSequence == 0 && channel.size() > 0;
        return best;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
