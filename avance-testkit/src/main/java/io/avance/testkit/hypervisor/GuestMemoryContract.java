package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.GuestMemory;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * Guest memory access and dirty-page logging, for adapters with
 * {@link Capability#GUEST_MEMORY_ACCESS} (and {@link Capability#DIRTY_PAGE_LOGGING} for the
 * logging tests); without them the tests are reported as aborted by assumption.
 *
 * <p>"A running guest dirties pages" relies on the guest doing something: a kernel's timer ticks
 * are enough; {@link AdapterUnderTest#exerciseGuest} is called while polling to help a quiet guest.
 */
public abstract class GuestMemoryContract extends HypervisorContractSupport {

    /** How long a paused guest is watched for dirty pages. */
    private static final java.time.Duration QUIET_WINDOW = java.time.Duration.ofMillis(300);

    /** Page size and count describe exactly the spec's memory. */
    @Test
    void geometryMatchesTheSpec() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.GUEST_MEMORY_ACCESS);
        String vm = startNewVm(adapter, "geometry");
        VmSpec spec = spec(vm);
        GuestMemory memory = adapter.guestMemory(vm);
        int pageSize = memory.pageSizeBytes();
        assertTrue(pageSize > 0 && Integer.bitCount(pageSize) == 1, () -> "page size " + pageSize
                + " is not a power of two");
        assertEquals(spec.memoryBytes(), memory.pageCount() * pageSize, "page count times page size");
    }

    /** Reads in range fill the buffer from its position, and advance it, heap or direct. */
    @Test
    void readsInRangeFillTheBufferAndAdvanceIt() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.GUEST_MEMORY_ACCESS);
        String vm = startNewVm(adapter, "read");
        GuestMemory memory = adapter.guestMemory(vm);
        int pageSize = memory.pageSizeBytes();
        long pages = memory.pageCount();
        for (ByteBuffer buffer : new ByteBuffer[] {ByteBuffer.allocate(20 * pageSize),
                ByteBuffer.allocateDirect(20 * pageSize)}) {
            buffer.position(3);
            memory.readPages(0, 1, buffer);
            assertEquals(3 + pageSize, buffer.position(), "position after reading the first page");
            memory.readPages(pages - 1, 1, buffer);
            assertEquals(3 + 2 * pageSize, buffer.position(), "position after reading the last page");
            memory.readPages(pages / 2, 16, buffer);
            assertEquals(3 + 18 * pageSize, buffer.position(), "position after reading 16 pages");
            memory.readPages(pages - 1, 0, buffer);
            assertEquals(3 + 18 * pageSize, buffer.position(), "reading no pages moves nothing");
        }
    }

    /** Ranges outside the guest's memory fail with IndexOutOfBoundsException and read nothing. */
    @Test
    void readsOutOfRangeAreRefused() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.GUEST_MEMORY_ACCESS);
        String vm = startNewVm(adapter, "bounds");
        GuestMemory memory = adapter.guestMemory(vm);
        long pages = memory.pageCount();
        ByteBuffer buffer = ByteBuffer.allocate(4 * memory.pageSizeBytes());
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(-1, 1, buffer), "page -1");
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(pages, 1, buffer), "page count");
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(pages - 1, 2, buffer), "past the end");
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(Long.MAX_VALUE, 1, buffer),
                "Long.MAX_VALUE");
        assertEquals(0, buffer.position(), "a refused read must not move the buffer");
    }

    /** A VM that does not run has no memory to give. */
    @Test
    void aVmThatDoesNotRunHasNoMemory() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.GUEST_MEMORY_ACCESS);
        String vm = newVmName("nomemory");
        adapter.define(spec(vm));
        assertRefused(vm, () -> adapter.guestMemory(vm), "guestMemory of a VM never started");
    }

    /** The first fetch after logging starts reports every page, and nothing past the last. */
    @Test
    void everyPageIsDirtyOnTheFirstFetch() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.DIRTY_PAGE_LOGGING);
        String vm = startNewVm(adapter, "alldirty");
        GuestMemory memory = adapter.guestMemory(vm);
        long pages = memory.pageCount();
        long[] bitmap = new long[(int) ((pages + 63) / 64) + 1];
        memory.startDirtyLogging();
        try {
            memory.fetchAndClearDirtyPages(bitmap);
            assertEquals(pages, count(bitmap), "pages reported dirty by the first fetch");
            for (long page = 0; page < pages; page++) {
                if ((bitmap[(int) (page >>> 6)] & (1L << (page & 63))) == 0) {
                    throw new AssertionError("page " + page + " not reported by the first fetch");
                }
            }
        } finally {
            memory.stopDirtyLogging();
        }
    }

    /** A running guest dirties pages again after a fetch. */
    @Test
    void aRunningGuestDirtiesPagesAgain() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.DIRTY_PAGE_LOGGING);
        String vm = startNewVm(adapter, "redirty");
        GuestMemory memory = adapter.guestMemory(vm);
        long[] bitmap = new long[(int) ((memory.pageCount() + 63) / 64)];
        memory.startDirtyLogging();
        try {
            memory.fetchAndClearDirtyPages(bitmap);
            awaitTrue(() -> {
                underTest().exerciseGuest(adapter, vm);
                long[] again = new long[bitmap.length];
                memory.fetchAndClearDirtyPages(again);
                return count(again) > 0;
            }, bootTimeout(), () -> "a running guest dirtied no page within " + bootTimeout().toSeconds() + " s");
        } finally {
            memory.stopDirtyLogging();
        }
    }

    /** A paused guest dirties nothing (watched for 300 ms), and fetching ORs into the caller's bitmap. */
    @Test
    void aPausedGuestDirtiesNothing() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.DIRTY_PAGE_LOGGING);
        assumeCapability(Capability.PAUSE);
        String vm = startNewVm(adapter, "quiet");
        GuestMemory memory = adapter.guestMemory(vm);
        long pages = memory.pageCount();
        int words = (int) ((pages + 63) / 64);
        memory.startDirtyLogging();
        try {
            adapter.pause(vm);
            memory.fetchAndClearDirtyPages(new long[words]);
            long[] bitmap = new long[words];
            bitmap[0] = 1L << 5;
            memory.fetchAndClearDirtyPages(bitmap);
            assertEquals(1L << 5, bitmap[0], "a fetch must OR into the bitmap, and a paused guest dirties nothing");
            assertEquals(1, count(bitmap), "pages dirtied by a paused guest");
            // Not only at once: for a while. This watches an invariant over a window (checked
            // again and again, and it fails at the first page), it does not wait for a condition.
            long end = System.nanoTime() + QUIET_WINDOW.toNanos();
            while (System.nanoTime() - end < 0) {
                long[] later = new long[words];
                memory.fetchAndClearDirtyPages(later);
                assertEquals(0, count(later), "pages dirtied by a paused guest");
                Thread.onSpinWait();
            }
            adapter.resume(vm);
        } finally {
            memory.stopDirtyLogging();
        }
    }

    /** Logging can be stopped and started again; a new start reports every page again. */
    @Test
    void loggingStartsAgainAfterAStop() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.DIRTY_PAGE_LOGGING);
        String vm = startNewVm(adapter, "restart");
        GuestMemory memory = adapter.guestMemory(vm);
        long pages = memory.pageCount();
        long[] bitmap = new long[(int) ((pages + 63) / 64)];
        memory.startDirtyLogging();
        memory.fetchAndClearDirtyPages(bitmap);
        memory.stopDirtyLogging();
        java.util.Arrays.fill(bitmap, 0);
        memory.startDirtyLogging();
        try {
            memory.fetchAndClearDirtyPages(bitmap);
            assertEquals(pages, count(bitmap), "pages reported by the first fetch after logging restarted");
        } finally {
            memory.stopDirtyLogging();
        }
    }
}
