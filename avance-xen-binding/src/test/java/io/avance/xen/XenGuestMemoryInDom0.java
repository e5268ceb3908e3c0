package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.migration.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Guest memory of a running PVH guest in real Xen: foreign-memory page reads (checked against
 * a token the guest's kernel keeps in its memory), reads of frames with no memory behind them
 * (zeros, never SIGBUS), writes, and log-dirty rounds with bitmaps checked against Xen's own
 * counts.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XenGuestMemoryInDom0 {

    private static final Duration GUEST = Duration.ofSeconds(90);
    private static final String TOKEN = "avance-token-" + UUID.randomUUID().toString().replace("-", "");
    private static final int RAM_PAGES = (128 << 20) / 4096;
    private static Dom0Fixture xen;
    private static GuestMemory memory;

    @BeforeAll
    static void start() throws Exception {
        xen = new Dom0Fixture();
        xen.adapter.define(Dom0Fixture.guest("mem1", TOKEN));
        xen.adapter.start("mem1");
        xen.awaitEvent("mem1", VmEvent.Kind.STARTED, GUEST);
        Dom0Fixture.await("the guest's init", GUEST, () -> Optional.of(Dom0Fixture.console("mem1"))
                .filter(text -> text.contains("avance-guest: up")));
        memory = xen.adapter.guestMemory("mem1");
    }

    @AfterAll
    static void stop() {
        if (xen != null) {
            xen.close();
        }
    }

    @Test
    @Order(1)
    void coversTheGuestPhysicalAddressSpace() {
        assertEquals(4096, memory.pageSizeBytes());
        assertEquals(RAM_PAGES, memory.pageCount(), "the spec's memory, in pages");
        long frames = ((XenGuestMemory) memory).frameCount();
        assertTrue(frames > RAM_PAGES, "Xen's special pages sit above a PVH guest's RAM: " + frames);
        System.out.printf("XEN-METRIC guest frames: %d (RAM %d)%n", frames, RAM_PAGES);
    }

    @Test
    @Order(2)
    void readsTheGuestsOwnMemory() {
        byte[] token = TOKEN.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocateDirect(1024 * 4096);
        long found = -1;
        long started = System.nanoTime();
        for (long page = 0; page < RAM_PAGES && found < 0; page += 1024) {
            buffer.clear();
            memory.readPages(page, 1024, buffer);
            assertEquals(buffer.capacity(), buffer.position());
            buffer.flip();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            int at = indexOf(bytes, token);
            if (at >= 0) {
                found = page + at / 4096;
            }
        }
        System.out.printf("XEN-METRIC scanned guest RAM for the command-line token in %.1f s (page %d)%n",
                (System.nanoTime() - started) / 1e9, found);
        assertTrue(found >= 0, "the kernel command line's token is somewhere in guest RAM");
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    @Order(3)
    void framesWithNoMemoryReadAsZerosAndNeverCrash() {
        // Just above the guest's 128 MiB of RAM: a hole in a PVH guest's physical map.
        ByteBuffer buffer = ByteBuffer.allocate(16 * 4096);
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) 0x5a);
        }
        ((XenGuestMemory) memory).readFrames(RAM_PAGES + 256, 16, buffer);
        for (int i = 0; i < buffer.capacity(); i++) {
            assertEquals(0, buffer.get(i), "byte " + i);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(memory.pageCount(), 1,
                ByteBuffer.allocate(4096)));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(-1, 1, ByteBuffer.allocate(4096)));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.readPages(Long.MAX_VALUE, 1,
                ByteBuffer.allocate(4096)));
    }

    @Test
    @Order(4)
    void writesAndZeroesPagesOfAPausedGuest() {
        xen.adapter.pause("mem1");
        try {
            long page = RAM_PAGES - 3;
            ByteBuffer original = ByteBuffer.allocate(4096);
            memory.readPages(page, 1, original);
            byte[] pattern = new byte[4096];
            new Random(7).nextBytes(pattern);
            memory.writePages(page, 1, ByteBuffer.wrap(pattern));
            ByteBuffer back = ByteBuffer.allocate(4096);
            memory.readPages(page, 1, back);
            assertArrayEquals(pattern, back.array());
            memory.zeroPages(page, 1);
            back.clear();
            memory.readPages(page, 1, back);
            assertArrayEquals(new byte[4096], back.array());
            original.flip();
            memory.writePages(page, 1, original);
        } finally {
            xen.adapter.resume("mem1");
        }
    }

    @Test
    @Order(5)
    void logsDirtyPagesRoundByRound() throws Exception {
        XenGuestMemory xenMemory = (XenGuestMemory) memory;
        int words = (int) ((memory.pageCount() + 63) / 64);
        memory.startDirtyLogging();
        try {
            long[] first = new long[words];
            memory.fetchAndClearDirtyPages(first);
            assertEquals(memory.pageCount(), popcount(first), "every page is dirty at the start");

            // The guest writes a file every 200 ms, and its kernel keeps time: rounds while it
            // runs see pages change.
            long[] running = Dom0Fixture.await("a round with dirty pages", Duration.ofSeconds(30), () -> {
                long[] bitmap = new long[words];
                memory.fetchAndClearDirtyPages(bitmap);
                return popcount(bitmap) > 0 ? Optional.of(bitmap) : Optional.empty();
            });
            long runningCount = popcount(running);
            // Xen counts all of the domain's frames, the bitmap only its RAM.
            assertTrue(runningCount <= xenMemory.lastDirtyCount(), "bitmap " + runningCount + ", Xen's dirty_count "
                    + xenMemory.lastDirtyCount());
            assertTrue(runningCount < memory.pageCount(), "not everything is dirty: " + runningCount);
            for (int w = 0; w < words; w++) {
                if (running[w] != 0) {
                    assertTrue((long) w * 64 < memory.pageCount(), "a dirty page beyond the guest");
                }
            }

            // The bitmap is OR-ed into what the caller holds.
            long[] accumulated = running.clone();
            memory.fetchAndClearDirtyPages(accumulated);
            for (int w = 0; w < words; w++) {
                assertEquals(running[w], accumulated[w] & running[w]);
            }

            // Paused, the guest writes nothing: after one round to clear, rounds are (nearly) empty.
            xen.adapter.pause("mem1");
            long pausedCount;
            try {
                memory.fetchAndClearDirtyPages(new long[words]);
                long[] paused = new long[words];
                memory.fetchAndClearDirtyPages(paused);
                pausedCount = popcount(paused);
                assertTrue(pausedCount <= xenMemory.lastDirtyCount());
            } finally {
                xen.adapter.resume("mem1");
            }
            System.out.printf("XEN-METRIC log-dirty: %d dirty pages in a running round, %d while paused%n",
                    runningCount, pausedCount);
            assertEquals(0, pausedCount, "a paused guest dirtied pages");

            // libxl's live migration would take the log over: refused while it is in use.
            HypervisorException refused = assertThrows(HypervisorException.class,
                    () -> xen.adapter.nativeMigration().send("mem1", Channels.newChannel(
                            java.io.OutputStream.nullOutputStream())));
            assertTrue(refused.getMessage().contains("logs dirty pages"), refused.getMessage());
        } finally {
            memory.stopDirtyLogging();
        }
        assertThrows(IllegalStateException.class, () -> memory.fetchAndClearDirtyPages(new long[words]));
    }

    private static long popcount(long[] bitmap) {
        long count = 0;
        for (long word : bitmap) {
            count += Long.bitCount(word);
        }
        return count;
    }
}
