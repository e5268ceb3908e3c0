package io.avance.xen;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.NativeLongByReference;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.MigrationException;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.LibXenCtrl;
import io.avance.xen.libxl.LibXenForeignMemory;
import io.avance.xen.libxl.NativeLayout;
import io.avance.xen.libxl.ShadowOpStats;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The memory of one HVM or PVH domain: page reads and writes through libxenforeignmemory, and
 * dirty-page logging through {@code xc_shadow_control} / {@code xc_logdirty_control}.
 *
 * <p>Pages are guest frame numbers: page {@code i} is guest-physical address {@code i * 4096},
 * and {@link #pageCount()} is the guest's memory (its Xen memory target) in pages. For an HVM
 * or PVH guest below 4 GiB that range holds all of its RAM; the frames above it are Xen's own
 * pages (xenstore and console rings, ioreq pages near 4 GiB), which libxl's stream moves
 * itself. Frames in the holes of the guest's physical map (the legacy VGA hole) read as zeros;
 * any other per-page failure is a {@link MigrationException}. Every mapping passes an error array, and no page is touched
 * before its entry is checked: touching a page that failed to map raises SIGBUS.
 *
 * <p>A domain has one log-dirty state in Xen. This object must not log dirty pages while
 * libxl migrates the same domain (libxl's save turns logging off at its end); the adapter
 * refuses to start either while the other runs.
 *
 * <pre>
 *   IDLE --startDirtyLogging--&gt; LOGGING --stopDirtyLogging--&gt; IDLE
 *   any --close (by the adapter)--&gt; CLOSED
 * </pre>
 *
 * <p>Not thread-safe: one migration thread uses it at a time, as {@link GuestMemory} allows.
 */
final class XenGuestMemory implements GuestMemory {

    /** The x86 page size. */
    static final int PAGE_BYTES = 4096;
    /** The most pages mapped at once: bounds the address space a read or write takes. */
    static final int MAX_PAGES_PER_MAP = 1024;
    /** {@code EINVAL} and {@code ENOENT}: what Xen reports for a frame with no memory behind it. */
    private static final int EINVAL = 22;
    private static final int ENOENT = 2;

    private static final ByteBuffer ZERO_PAGE = ByteBuffer.allocate(PAGE_BYTES).asReadOnlyBuffer();

    private enum State { IDLE, LOGGING, CLOSED }

    private final XenSession session;
    private final LibXenCtrl control;
    private final LibXenForeignMemory foreign;
    private final String vm;
    private final int domid;
    private final long pageCount;
    /** The highest frame Xen knows for the domain, plus one. */
    private final long frameCount;
    private final Runnable onStart;
    private final Runnable onClose;
    private State state = State.IDLE;
    private boolean firstRound;
    private Memory hypercallBuffer;
    private Pointer bitmap;
    private int bitmapPages;
    private int lastDirtyCount = -1;

    /**
     * Opens the memory of a domain.
     *
     * @param session the session
     * @param vm      the VM's name, for messages
     * @param domid   the domain
     * @param memoryBytes the domain's memory target
     * @param onStart called before logging starts; throws if the adapter must refuse (a native
     *                migration of the domain is under way)
     * @param onClose called when logging stops, so the adapter can allow a native migration
     */
    XenGuestMemory(XenSession session, String vm, int domid, long memoryBytes, Runnable onStart, Runnable onClose) {
        this.session = session;
        this.control = session.libraries().control();
        this.foreign = session.libraries().foreignMemory();
        this.vm = vm;
        this.domid = domid;
        this.onStart = onStart;
        this.onClose = onClose;
        NativeLongByReference highest = new NativeLongByReference();
        int rc = control.xc_domain_maximum_gpfn(session.control(), domid, highest);
        if (rc < 0) {
            throw new HypervisorException("xc_domain_maximum_gpfn of VM '" + vm + "' (domain " + domid + ") failed: "
                    + session.libraries().c().strerror(Native.getLastError()));
        }
        this.frameCount = highest.getValue().longValue() + 1;
        this.pageCount = Math.min(frameCount, memoryBytes / PAGE_BYTES);
    }

    @Override
    public int pageSizeBytes() {
        return PAGE_BYTES;
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    /** The domain this memory belongs to. */
    int domid() {
        return domid;
    }

    /** The highest guest frame plus one: beyond {@link #pageCount()} for a PVH guest. */
    long frameCount() {
        return frameCount;
    }

    /**
     * Reads any frames up to {@link #frameCount()}, for tests of the frames beyond the guest's
     * RAM and of the holes between.
     */
    void readFrames(long firstFrame, int count, ByteBuffer destination) {
        checkRange(firstFrame, count, destination, frameCount);
        for (int done = 0; done < count; done += MAX_PAGES_PER_MAP) {
            int batch = Math.min(MAX_PAGES_PER_MAP, count - done);
            transfer(firstFrame + done, batch, destination, LibXenForeignMemory.PROT_READ, Direction.READ);
        }
    }

    @Override
    public void readPages(long firstPage, int pageCount, ByteBuffer destination) {
        checkRange(firstPage, pageCount, destination);
        for (int done = 0; done < pageCount; done += MAX_PAGES_PER_MAP) {
            int batch = Math.min(MAX_PAGES_PER_MAP, pageCount - done);
            transfer(firstPage + done, batch, destination, LibXenForeignMemory.PROT_READ, Direction.READ);
        }
    }

    @Override
    public void writePages(long firstPage, int pageCount, ByteBuffer source) {
        checkRange(firstPage, pageCount, source);
        for (int done = 0; done < pageCount; done += MAX_PAGES_PER_MAP) {
            int batch = Math.min(MAX_PAGES_PER_MAP, pageCount - done);
            transfer(firstPage + done, batch, source, LibXenForeignMemory.PROT_READ | LibXenForeignMemory.PROT_WRITE,
                    Direction.WRITE);
        }
    }

    @Override
    public void zeroPages(long firstPage, int pageCount) {
        checkRange(firstPage, pageCount, null);
        for (int done = 0; done < pageCount; done += MAX_PAGES_PER_MAP) {
            int batch = Math.min(MAX_PAGES_PER_MAP, pageCount - done);
            transfer(firstPage + done, batch, null, LibXenForeignMemory.PROT_READ | LibXenForeignMemory.PROT_WRITE,
                    Direction.ZERO);
        }
    }

    private enum Direction { READ, WRITE, ZERO }

    private void checkRange(long firstPage, int count, ByteBuffer buffer) {
        checkRange(firstPage, count, buffer, pageCount);
    }

    private void checkRange(long firstPage, int count, ByteBuffer buffer, long limit) {
        ensureOpen();
        // Written so that nothing overflows: firstPage + count could wrap for huge firstPage.
        if (firstPage < 0 || count < 0 || firstPage > limit - count) {
            throw new IndexOutOfBoundsException("pages " + firstPage + ".." + firstPage + "+" + count + " of VM '"
                    + vm + "', which has " + limit);
        }
        if (buffer != null && buffer.remaining() < (long) count * PAGE_BYTES) {
            throw new IllegalArgumentException("the buffer has " + buffer.remaining() + " bytes for " + count
                    + " pages");
        }
    }

    private void transfer(long firstPage, int count, ByteBuffer buffer, int protection, Direction direction) {
        Memory frames = new Memory((long) count * NativeLayout.PFN_SIZE);
        for (int i = 0; i < count; i++) {
            frames.setLong((long) i * NativeLayout.PFN_SIZE, firstPage + i);
        }
        Memory errors = new Memory(4L * count);
        errors.clear();
        Pointer mapped = foreign.xenforeignmemory_map(session.foreignMemory(), domid, protection,
                new NativeLong(count), frames, errors);
        if (mapped == null) {
            throw new MigrationException("xenforeignmemory_map of pages " + firstPage + ".." + (firstPage + count)
                    + " of VM '" + vm + "' failed: " + session.libraries().c().strerror(Native.getLastError()));
        }
        try {
            for (int i = 0; i < count; i++) {
                int error = errors.getInt(4L * i);
                long offset = (long) i * PAGE_BYTES;
                if (error != 0) {
                    // Never touch this page: it is not mapped, and reading it raises SIGBUS.
                    if (error != -EINVAL && error != -ENOENT) {
                        throw new MigrationException("page " + (firstPage + i) + " of VM '" + vm
                                + "' cannot be mapped: " + session.libraries().c().strerror(-error));
                    }
                    if (direction == Direction.READ) {
                        buffer.put(ZERO_PAGE.duplicate());
                    } else if (direction == Direction.WRITE) {
                        buffer.position(buffer.position() + PAGE_BYTES);
                    }
                    continue;
                }
                switch (direction) {
                    case READ -> buffer.put(mapped.getByteBuffer(offset, PAGE_BYTES));
                    case WRITE -> {
                        ByteBuffer page = buffer.slice(buffer.position(), PAGE_BYTES);
                        mapped.getByteBuffer(offset, PAGE_BYTES).put(page);
                        buffer.position(buffer.position() + PAGE_BYTES);
                    }
                    case ZERO -> mapped.setMemory(offset, PAGE_BYTES, (byte) 0);
                    default -> throw new IllegalStateException(direction.name());
                }
            }
        } finally {
            foreign.xenforeignmemory_unmap(session.foreignMemory(), mapped, new NativeLong(count));
        }
    }

    @Override
    public void startDirtyLogging() {
        ensureOpen();
        if (state == State.LOGGING) {
            throw new IllegalStateException("VM '" + vm + "' already logs dirty pages");
        }
        LibC c = session.libraries().c();
        onStart.run();
        try {
            enableLogDirty(c);
        } catch (RuntimeException e) {
            onClose.run();
            throw e;
        }
        state = State.LOGGING;
        firstRound = true;
    }

    private void enableLogDirty(LibC c) {
        int rc = control.xc_shadow_control(session.control(), domid, LibXenCtrl.SHADOW_OP_ENABLE_LOGDIRTY, null, 0);
        if (rc < 0) {
            int errno = Native.getLastError();
            // As libxenguest does: log-dirty may already be on (for VRAM tracking); turn it off
            // and on again to own it.
            control.xc_shadow_control(session.control(), domid, LibXenCtrl.SHADOW_OP_OFF, null, 0);
            rc = control.xc_shadow_control(session.control(), domid, LibXenCtrl.SHADOW_OP_ENABLE_LOGDIRTY, null, 0);
            if (rc < 0) {
                int again = Native.getLastError();
                throw new UnsupportedOperationException("VM '" + vm + "' cannot log dirty pages: Xen answered "
                        + c.strerror(again) + " (first try: " + c.strerror(errno) + "); log-dirty needs an HVM or"
                        + " PVH guest with hardware-assisted paging");
            }
        }
        bitmapPages = (int) ((pageCount + 8L * PAGE_BYTES - 1) / (8L * PAGE_BYTES));
        hypercallBuffer = new Memory(NativeLayout.HYPERCALL_BUFFER_SIZE);
        hypercallBuffer.clear();
        // DECLARE_HYPERCALL_BUFFER's initial value: ubuf = (void *)-1, the rest zero.
        hypercallBuffer.setPointer(NativeLayout.HYPERCALL_BUFFER_UBUF, new Pointer(-1));
        bitmap = control.xc__hypercall_buffer_alloc_pages(session.control(), hypercallBuffer, bitmapPages);
        if (bitmap == null) {
            control.xc_shadow_control(session.control(), domid, LibXenCtrl.SHADOW_OP_OFF, null, 0);
            hypercallBuffer = null;
            throw new MigrationException("cannot allocate the " + bitmapPages + "-page dirty bitmap of VM '" + vm + "'");
        }
    }

    @Override
    public void fetchAndClearDirtyPages(long[] bitmapOut) {
        ensureOpen();
        if (state != State.LOGGING) {
            throw new IllegalStateException("VM '" + vm + "' does not log dirty pages");
        }
        int words = (int) ((pageCount + 63) / 64);
        if (bitmapOut.length < words) {
            throw new IllegalArgumentException("the bitmap has " + bitmapOut.length + " words for " + pageCount
                    + " pages; it needs " + words);
        }
        ShadowOpStats stats = new ShadowOpStats();
        long rc = control.xc_logdirty_control(session.control(), domid, LibXenCtrl.SHADOW_OP_CLEAN, hypercallBuffer,
                new NativeLong(pageCount), 0, stats);
        if (rc < 0) {
            throw new MigrationException("xc_logdirty_control(CLEAN) of VM '" + vm + "' failed: "
                    + session.libraries().c().strerror(Native.getLastError()));
        }
        stats.read();
        lastDirtyCount = stats.dirty_count;
        if (firstRound) {
            // "Every page counts as dirty at the start": the first round reports all of them.
            firstRound = false;
            for (int w = 0; w < words; w++) {
                bitmapOut[w] = -1L;
            }
            int tail = (int) (pageCount % 64);
            if (tail != 0) {
                bitmapOut[words - 1] = (1L << tail) - 1;
            }
            return;
        }
        // Xen's bitmap is unsigned longs, bit i of the bitmap being page i: on little-endian
        // x86 that is bit (i % 64) of word (i / 64), the layout GuestMemory asks for.
        for (int w = 0; w < words; w++) {
            bitmapOut[w] |= bitmap.getLong(8L * w);
        }
        int tail = (int) (pageCount % 64);
        if (tail != 0) {
            bitmapOut[words - 1] &= (1L << tail) - 1;
        }
    }

    /**
     * Xen's count of dirty pages in the last round (its {@code dirty_count}, over all of the
     * domain's frames, so at least the bitmap's count), for tests that compare the two.
     *
     * @return the count, or -1 before the first round
     */
    int lastDirtyCount() {
        return lastDirtyCount;
    }

    @Override
    public void stopDirtyLogging() {
        if (state != State.LOGGING) {
            return;
        }
        Pointer xch = session.control();
        try {
            control.xc_shadow_control(xch, domid, LibXenCtrl.SHADOW_OP_OFF, null, 0);
        } finally {
            control.xc__hypercall_buffer_free_pages(xch, hypercallBuffer, bitmapPages);
            hypercallBuffer = null;
            bitmap = null;
            state = State.IDLE;
            onClose.run();
        }
    }

    /** Stops logging and refuses further use; called by the adapter when the domain goes. */
    void close() {
        if (state == State.CLOSED) {
            return;
        }
        try {
            stopDirtyLogging();
        } catch (RuntimeException e) {
            // The domain may be gone already; there is nothing left to turn off.
        } finally {
            state = State.CLOSED;
        }
    }

    private void ensureOpen() {
        if (state == State.CLOSED) {
            throw new IllegalStateException("the memory of VM '" + vm + "' (domain " + domid + ") is closed");
        }
        Objects.requireNonNull(session.control());
    }
}
