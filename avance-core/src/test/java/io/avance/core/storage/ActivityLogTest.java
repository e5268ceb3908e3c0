package io.avance.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
            log.ensure(1, 2, Set.of(), persisted::add);
            log.ensure(7, 7, Set.of(), persisted::add);
            assertTrue(persisted.isEmpty());
            log.ensure(9, 9, Set.of(1L), persisted::add);
            assertEquals(List.of(2L), persisted, "the least recently used extent not pinned leaves, bits first");
            log.ensure(1, 1, Set.of(), persisted::add);
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
            log.ensure(3, 3, Set.of(), extent -> { });
            log.ensure(4, 4, Set.of(), extent -> { });
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
            log.ensure(3, 5, Set.of(), extent -> { });
            log.clear();
        }
        try (ActivityLog reopened = new ActivityLog(file, 22, 8)) {
            assertTrue(reopened.recovered().isEmpty());
        }
    }
}
