package io.avance.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActivityLogTest {

    @TempDir
    Path directory;

    @Test
    void extentsSurviveACrashAndLeaveOnlyAfterTheirBitsArePersisted() throws Exception {
        Path file = directory.resolve("v.al");
        List<Long> persisted = new ArrayList<>();
        try (ActivityLog log = new ActivityLog(file, 22, 3)) {
            log.ensure(1, 2, Set.of(), persisted::addAll);
            log.ensure(7, 7, Set.of(), persisted::addAll);
            assertTrue(persisted.isEmpty());
            log.ensure(9, 9, Set.of(1L), persisted::addAll);
            assertEquals(List.of(2L), persisted, "the least recently used extent not pinned leaves, bits first");
            log.ensure(1, 1, Set.of(), persisted::addAll);
            assertEquals(2, log.writes() - 1, "touching a hot extent writes nothing");
        }
        // No close-time cleanup happened: this is what a crash leaves.
        try (ActivityLog reopened = new ActivityLog(file, 22, 3)) {
            assertEquals(Set.of(1L, 7L, 9L), reopened.recovered());
        }
    }

    @Test
    void aTornSlotFallsBackToTheOtherOne() throws Exception {
        Path file = directory.resolve("v.al");
        try (ActivityLog log = new ActivityLog(file, 22, 8)) {
            log.ensure(3, 3, Set.of(), extents -> { });
            log.ensure(4, 4, Set.of(), extents -> { });
        }
        // The newest slot (sequence 2, at offset 0) is damaged half way through a write.
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 30);
        }
        try (ActivityLog reopened = new ActivityLog(file, 22, 8)) {
            assertEquals(Set.of(3L), reopened.recovered(), "the older, intact slot counts");
        }
    }

    @Test
    void aClearedLogRecoversNothing() throws Exception {
        Path file = directory.resolve("v.al");
        try (ActivityLog log = new ActivityLog(file, 22, 8)) {
            log.ensure(3, 5, Set.of(), extents -> { });
            log.clear();
        }
        try (ActivityLog reopened = new ActivityLog(file, 22, 8)) {
            assertTrue(reopened.recovered().isEmpty());
        }
    }

    @Test
    void aFullLogEvictsABatchOfTheLeastRecentlyUsedInOneCall() throws Exception {
        Path file = directory.resolve("v.al");
        List<List<Long>> calls = new ArrayList<>();
        try (ActivityLog log = new ActivityLog(file, 22, 32)) {
            for (long extent = 0; extent < 32; extent++) {
                log.ensure(extent, extent, Set.of(), calls::add);
            }
            log.ensure(0, 0, Set.of(), calls::add);
            assertTrue(calls.isEmpty(), "a hot extent needs no eviction");
            log.ensure(40, 40, Set.of(1L), calls::add);
            assertEquals(List.of(List.of(2L, 3L)), calls, "one call, a sixteenth of the log, pinned ones kept");
        }
        try (ActivityLog reopened = new ActivityLog(file, 22, 32)) {
            assertEquals(31, reopened.recovered().size());
            assertTrue(reopened.recovered().containsAll(Set.of(0L, 1L, 40L)));
            assertTrue(!reopened.recovered().contains(2L) && !reopened.recovered().contains(3L));
        }
    }

    @Test
    void aLargeLogSpansSeveralPagesAndRecoversEveryExtent() throws Exception {
        Path file = directory.resolve("v.al");
        assertEquals(12288, ActivityLog.slotBytes(1024));
        try (ActivityLog log = new ActivityLog(file, 22, 1024)) {
            log.ensure(0, 1023, Set.of(), extents -> { });
        }
        try (ActivityLog reopened = new ActivityLog(file, 22, 1024)) {
            assertEquals(1024, reopened.recovered().size());
        }
        assertEquals(2 * 12288, java.nio.file.Files.size(file));
    }

    @Test
    void aRangeThatCannotFitFailsWithAnIoErrorAndLeavesNothingOfItInTheLog() throws Exception {
        Path file = directory.resolve("v.al");
        List<Long> persisted = new ArrayList<>();
        try (ActivityLog log = new ActivityLog(file, 22, 3)) {
            log.ensure(0, 2, Set.of(), persisted::addAll);
            // Writes in flight pin every extent, and 591 new ones exceed the slot's 509.
            Set<Long> pinned = Set.of(0L, 1L, 2L);
            assertFalse(log.hasRoom(10, 600, pinned));
            IOException full = assertThrows(IOException.class, () -> log.ensure(10, 600, pinned, persisted::addAll));
            assertTrue(full.getMessage().contains("activity log full"), full.getMessage());
            assertTrue(persisted.isEmpty(), "nothing was evicted for a range that could not fit");
            assertTrue(log.hasRoom(10, 10, pinned), "one more extent still fits in the slot's spare room");
        }
        // What a crash now leaves: only the extents that were made durable.
        try (ActivityLog reopened = new ActivityLog(file, 22, 3)) {
            assertEquals(Set.of(0L, 1L, 2L), reopened.recovered());
        }
    }
}
