package io.avance.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation keeps every entry: the journal is read back whole across its files, and after a restart. */
class AuditJournalRotationTest {

    @TempDir
    Path directory;

    @Test
    void rotatedFilesKeepEveryEntryAndReadingSpansThem() {
        try (AuditJournal journal = new AuditJournal(directory, NodeId.of("alpha"), Clock.systemUTC(), 2_000)) {
            for (int i = 0; i < 300; i++) {
                journal.record(i % 2 == 0 ? "olga" : "system", "action-" + i, "detail " + i, "done");
                if (i % 50 == 0) {
                    journal.flush(5_000);
                }
            }
            assertTrue(journal.files().size() > 3, "rotated: " + journal.files());
            List<AuditJournal.Entry> all = journal.read(e -> true, 10_000);
            assertEquals(300, all.size());
            assertEquals("action-299", all.get(0).action(), "newest first");
            assertEquals("action-0", all.get(299).action());
            assertEquals(150, journal.read(e -> e.actor().equals("olga"), 10_000).size());
        }
        try (AuditJournal reopened = new AuditJournal(directory, NodeId.of("alpha"), Clock.systemUTC(), 2_000)) {
            reopened.record("system", "start", "again", "done");
            assertEquals(301, reopened.read(e -> true, 10_000).size(), "the journal survives a restart");
        }
    }
}
