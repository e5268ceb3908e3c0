package io.avance.testkit.hypervisor;

import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.MigrationException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The memory of one simulated guest: off-heap, in 4096-byte pages, with a dirty-page log.
 *
 * <p>Layout: direct {@link ByteBuffer}s of 64 MiB each ("chunks"), allocated the first time a
 * page in them is written, so that a 1 GiB guest costs nothing until it touches its memory and a
 * chunk that was never written reads as zeros without being allocated. Two bitmaps of one bit
 * per page sit beside the chunks: {@code dirty} (written since the migrator last fetched) and
 * {@code written} (may hold something other than zeros; cleared by {@link #zeroPages} and
 * {@link #clear}), which makes zero pages cheap to recognise.
 *
 * <h2>Why data is written before the dirty bit</h2>
 * A pre-copy migrator fetches and clears the dirty bits of a word ({@code getAndSet}, atomic per
 * word), then reads the pages it found dirty. A guest write stores its data first and sets the
 * page's dirty bit afterwards with an atomic read-modify-write (which has release semantics;
 * the migrator's {@code getAndSet} has acquire semantics). So for any write, either
 * <ul>
 *   <li>its bit was set before the fetch cleared it: the data was stored before the bit, so the
 *       read that follows the fetch sees the data; or</li>
 *   <li>its bit is set after the fetch: the page is reported again by the next fetch.</li>
 * </ul>
 * Either way the last version of every page reaches the target. Setting the bit first would lose
 * updates: the migrator could clear the bit and read the page between the bit and the data, and
 * nothing would report the page again. The bit is always set with a read-modify-write, never
 * skipped when it looks set already, because a plain check would not publish the data to the
 * migrator under the Java memory model.
 *
 * <p>Thread-safety: guest threads write through the {@code put} methods while the migrator
 * reads with {@link #readPages}; every access is an absolute index into a chunk (no shared
 * buffer position), so concurrent readers and writers are safe. A read racing with a write may
 * see a torn page; the dirty bit makes the migrator send that page again. {@link GuestMemory}
 * methods are meant for one migration thread at a time, as that interface says.
 *
 * <p>Ownership: the {@link SimulatedVm} that owns this memory {@link #release releases} it when
 * the guest stops; every later access fails ({@link MigrationException} for the migrator's calls,
 * {@link IllegalStateException} for the guest's).
 */
final class GuestRam implements GuestMemory {

    /** Bytes per page, as on x86. */
    static final int PAGE_SIZE = 4096;
    static final int PAGE_SHIFT = 12;
    /**
     * 1 MiB per chunk. {@code allocateDirect} zeroes a chunk in one call that the JVM cannot
     * interrupt for a safepoint, page-faulting every page of it: with 64 MiB chunks that stalled
     * every thread of the process for up to 200 ms at the next safepoint (seen as "Reaching
     * safepoint: 177 ms" in an incoming migration's thread), long enough for a primary in the same
     * process to lose its serving lease. A 1 GiB guest needs 1,024 chunks, still a small table.
     */
    static final int CHUNK_SHIFT = 20;
    static final int CHUNK_SIZE = 1 << CHUNK_SHIFT;
    private static final int PAGES_PER_CHUNK = CHUNK_SIZE / PAGE_SIZE;

    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024).asReadOnlyBuffer();

    private final String vm;
    private final long sizeBytes;
    private final long pageCount;
    private final AtomicReferenceArray<ByteBuffer> chunks;
    private final long[] dirty;
    private final long[] written;
    private final Object allocation = new Object();
    private volatile boolean logging;
    private volatile boolean released;

    /**
     * Creates zeroed memory; nothing is allocated yet.
     *
     * @param vm        the VM's name, for messages
     * @param sizeBytes the size, a positive multiple of the page size
     */
    GuestRam(String vm, long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest memory must be a positive multiple of 4096, was " + sizeBytes);
        }
        this.vm = vm;
        this.sizeBytes = sizeBytes;
        this.pageCount = sizeBytes >>> PAGE_SHIFT;
        long chunkCount = (sizeBytes + CHUNK_SIZE - 1) >>> CHUNK_SHIFT;
        if (chunkCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("guest memory too large: " + sizeBytes);
        }
        this.chunks = new AtomicReferenceArray<>((int) chunkCount);
        int words = (int) ((pageCount + 63) >>> 6);
        this.dirty = new long[words];
        this.written = new long[words];
    }

    /** @return the size in bytes */
    long sizeBytes() {
        return sizeBytes;
    }

    // ------------------------------------------------------------------------------------------
    // The guest's side: byte-addressed loads and stores

    long getLong(long address) {
        ByteBuffer chunk = chunkForRead(address, Long.BYTES);
        return chunk == null ? 0 : chunk.getLong(offsetInChunk(address));
    }

    int getInt(long address) {
        ByteBuffer chunk = chunkForRead(address, Integer.BYTES);
        return chunk == null ? 0 : chunk.getInt(offsetInChunk(address));
    }

    short getShort(long address) {
        ByteBuffer chunk = chunkForRead(address, Short.BYTES);
        return chunk == null ? 0 : chunk.getShort(offsetInChunk(address));
    }

    byte getByte(long address) {
        ByteBuffer chunk = chunkForRead(address, 1);
        return chunk == null ? 0 : chunk.get(offsetInChunk(address));
    }

    void getBytes(long address, byte[] destination, int offset, int length) {
        long at = address;
        int done = 0;
        while (done < length) {
            int run = (int) Math.min(length - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
            ByteBuffer chunk = chunkForRead(at, run);
            if (chunk == null) {
                java.util.Arrays.fill(destination, offset + done, offset + done + run, (byte) 0);
            } else {
                chunk.get(offsetInChunk(at), destination, offset + done, run);
            }
            at += run;
            done += run;
        }
    }

    void putLong(long address, long value) {
        chunkForWrite(address, Long.BYTES).putLong(offsetInChunk(address), value);
        markDirty(address >>> PAGE_SHIFT);
    }

    void putInt(long address, int value) {
        chunkForWrite(address, Integer.BYTES).putInt(offsetInChunk(address), value);
        markDirty(address >>> PAGE_SHIFT);
    }

    void putShort(long address, short value) {
        chunkForWrite(address, Short.BYTES).putShort(offsetInChunk(address), value);
        markDirty(address >>> PAGE_SHIFT);
    }

    void putByte(long address, byte value) {
        chunkForWrite(address, 1).put(offsetInChunk(address), value);
        markDirty(address >>> PAGE_SHIFT);
    }

    void putBytes(long address, byte[] source, int offset, int length) {
        long at = address;
        int done = 0;
        while (done < length) {
            int run = (int) Math.min(length - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
            chunkForWrite(at, run).put(offsetInChunk(at), source, offset + done, run);
            markDirty(at >>> PAGE_SHIFT);
            at += run;
            done += run;
        }
    }

    /**
     * Forgets every page (a reboot): chunks are dropped, every page reads as zeros again and, if a
     * migrator is logging, counts as dirty.
     */
    void clear() {
        checkNotReleased();
        synchronized (allocation) {
            for (int i = 0; i < chunks.length(); i++) {
                chunks.set(i, null);
            }
        }
        for (int i = 0; i < written.length; i++) {
            BITS.setVolatile(written, i, 0L);
        }
        markAllDirty();
    }

    /**
     * Frees the memory. The guest's threads have stopped; the migrator's next call fails.
     */
    void release() {
        released = true;
        logging = false;
        synchronized (allocation) {
            for (int i = 0; i < chunks.length(); i++) {
                chunks.set(i, null);
            }
        }
    }

    /** @return whether {@link #release} was called */
    boolean released() {
        return released;
    }

    /**
     * Tells whether a page is known to hold only zeros: never written since boot, or zeroed
     * since. Pages not known to be zero may still be.
     *
     * @param page the page's index
     * @return true if it surely reads as zeros
     */
    boolean knownZero(long page) {
        checkPage(page, 1);
        return (((long) BITS.getVolatile(written, (int) (page >>> 6))) & (1L << (page & 63))) == 0;
    }

    /** @return how many chunks are allocated (for tests of the lazy allocation) */
    int allocatedChunks() {
        int count = 0;
        for (int i = 0; i < chunks.length(); i++) {
            if (chunks.get(i) != null) {
                count++;
            }
        }
        return count;
    }

    // ------------------------------------------------------------------------------------------
    // GuestMemory: the migrator's side

    @Override
    public int pageSizeBytes() {
        return PAGE_SIZE;
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    @Override
    public void readPages(long firstPage, int count, ByteBuffer destination) {
        checkRange(firstPage, count);
        long bytes = (long) count * PAGE_SIZE;
        if (destination.remaining() < bytes) {
            throw new BufferOverflowException();
        }
        checkReadable();
        int position = destination.position();
        long address = firstPage << PAGE_SHIFT;
        long end = address + bytes;
        while (address < end) {
            int chunkIndex = (int) (address >>> CHUNK_SHIFT);
            int inChunk = offsetInChunk(address);
            int run = (int) Math.min(end - address, chunkLength(chunkIndex) - inChunk);
            ByteBuffer chunk = chunks.get(chunkIndex);
            if (chunk == null) {
                fillZeros(destination, position, run);
            } else {
                destination.put(position, chunk, inChunk, run);
            }
            position += run;
            address += run;
        }
        // The VM may have been destroyed while we copied: its chunks were dropped and what we copied
        // may be partly zeros that were never the guest's. Report that instead of returning it.
        checkReadable();
        destination.position(position);
    }

    @Override
    public void writePages(long firstPage, int count, ByteBuffer source) {
        checkRange(firstPage, count);
        long bytes = (long) count * PAGE_SIZE;
        if (source.remaining() < bytes) {
            throw new BufferUnderflowException();
        }
        checkNotReleased();
        int position = source.position();
        long address = firstPage << PAGE_SHIFT;
        long end = address + bytes;
        while (address < end) {
            int run = (int) Math.min(end - address, PAGE_SIZE);
            chunkForWrite(address, run).put(offsetInChunk(address), source, position, run);
            markDirty(address >>> PAGE_SHIFT);
            position += run;
            address += run;
        }
        source.position(position);
    }

    @Override
    public void zeroPages(long firstPage, int count) {
        checkRange(firstPage, count);
        checkNotReleased();
        long address = firstPage << PAGE_SHIFT;
        long end = address + (long) count * PAGE_SIZE;
        while (address < end) {
            int chunkIndex = (int) (address >>> CHUNK_SHIFT);
            int inChunk = offsetInChunk(address);
            int run = (int) Math.min(end - address, chunkLength(chunkIndex) - inChunk);
            ByteBuffer chunk = chunks.get(chunkIndex);
            // A chunk that was never allocated is zeros already: nothing to write, nothing to allocate.
            if (chunk != null) {
                fillZeros(chunk, inChunk, run);
            }
            address += run;
        }
        for (long page = firstPage; page < firstPage + count; page++) {
            BITS.getAndBitwiseAnd(written, (int) (page >>> 6), ~(1L << (page & 63)));
            BITS.getAndBitwiseOr(dirty, (int) (page >>> 6), 1L << (page & 63));
        }
    }

    @Override
    public void startDirtyLogging() {
        checkNotReleased();
        logging = true;
        markAllDirty();
    }

    @Override
    public void fetchAndClearDirtyPages(long[] bitmap) {
        if (!logging) {
            checkReadable();
            throw new IllegalStateException("dirty logging of VM " + vm + " is not started");
        }
        if (bitmap.length < dirty.length) {
            throw new IllegalArgumentException("the bitmap needs " + dirty.length + " words for " + pageCount
                    + " pages, has " + bitmap.length);
        }
        for (int i = 0; i < dirty.length; i++) {
            bitmap[i] |= (long) BITS.getAndSet(dirty, i, 0L);
        }
        checkReadable();
    }

    @Override
    public void stopDirtyLogging() {
        logging = false;
    }

    /** @return whether a migrator is logging dirty pages */
    boolean logging() {
        return logging;
    }

    // ------------------------------------------------------------------------------------------

    private void markDirty(long page) {
        int word = (int) (page >>> 6);
        long bit = 1L << (page & 63);
        // Order matters, see the class comment: the data is stored, then these bits.
        BITS.getAndBitwiseOr(written, word, bit);
        BITS.getAndBitwiseOr(dirty, word, bit);
    }

    private void markAllDirty() {
        for (int i = 0; i < dirty.length; i++) {
            BITS.setVolatile(dirty, i, lastWordMask(i));
        }
    }

    /** Every bit of a word, except the bits past the last page in the last word. */
    private long lastWordMask(int word) {
        long pagesInWord = Math.min(64, pageCount - ((long) word << 6));
        return pagesInWord == 64 ? -1L : (1L << pagesInWord) - 1;
    }

    private ByteBuffer chunkForRead(long address, int length) {
        checkAddress(address, length);
        checkNotReleased();
        return chunks.get((int) (address >>> CHUNK_SHIFT));
    }

    private ByteBuffer chunkForWrite(long address, int length) {
        checkAddress(address, length);
        checkNotReleased();
        int index = (int) (address >>> CHUNK_SHIFT);
        ByteBuffer chunk = chunks.get(index);
        if (chunk != null) {
            return chunk;
        }
        synchronized (allocation) {
            checkNotReleased();
            chunk = chunks.get(index);
            if (chunk == null) {
                // allocateDirect zeroes the chunk: a freshly allocated chunk reads as the zeros it
                // stood for while unallocated.
                chunk = ByteBuffer.allocateDirect(chunkLength(index));
                chunks.set(index, chunk);
            }
            return chunk;
        }
    }

    private int chunkLength(int index) {
        return (int) Math.min(CHUNK_SIZE, sizeBytes - ((long) index << CHUNK_SHIFT));
    }

    private static int offsetInChunk(long address) {
        return (int) (address & (CHUNK_SIZE - 1));
    }

    private void checkAddress(long address, int length) {
        // Guest accesses never straddle a page: the guest program lays its data out that way, and
        // the chunk arithmetic relies on it.
        if (address < 0 || address + length > sizeBytes
                || (address >>> PAGE_SHIFT) != ((address + length - 1) >>> PAGE_SHIFT)) {
            throw new IndexOutOfBoundsException("guest address " + address + " (+" + length + ") outside the "
                    + sizeBytes + " bytes of VM " + vm + " or across a page");
        }
    }

    private void checkRange(long firstPage, int count) {
        if (count < 0 || firstPage < 0 || firstPage > pageCount - count) {
            throw new IndexOutOfBoundsException("pages " + firstPage + "+" + count + " outside the " + pageCount
                    + " pages of VM " + vm);
        }
    }

    private void checkPage(long page, int count) {
        checkRange(page, count);
    }

    private void checkNotReleased() {
        if (released) {
            throw new IllegalStateException("the memory of VM " + vm + " was released: the VM stopped");
        }
    }

    private void checkReadable() {
        if (released) {
            throw new MigrationException("the memory of VM " + vm + " was released: the VM stopped");
        }
    }

    private static void fillZeros(ByteBuffer target, int index, int length) {
        int done = 0;
        while (done < length) {
            int run = Math.min(length - done, ZEROS.capacity());
            target.put(index + done, ZEROS, 0, run);
            done += run;
        }
    }
}
