package io.avance.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.core.time.ManualClock;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditJournalTest {

    @TempDir
    Path directory;

    @Test
    void entriesAreDurableJsonLinesAndSurviveReopening() {
        ManualClock clock = new ManualClock();
        try (AuditJournal journal = new AuditJournal(directory, NodeId.of("alpha"), clock)) {
            journal.record("system", "takeover", "epoch 3: \"quoted\"\nnewline", "primary");
            assertTrue(journal.flush(5_000));
        }
        try (AuditJournal journal = new AuditJournal(directory, NodeId.of("alpha"), clock)) {
            journal.record("operator", "maintenance", "on", "done");
            List<String> lines = journal.readLines();
            assertEquals(2, lines.size());
            assertEquals("{\"time\":\"2026-01-01T00:00:00Z\",\"node\":\"alpha\",\"actor\":\"system\","
                    + "\"action\":\"takeover\",\"detail\":\"epoch 3: \\\"quoted\\\"\\nnewline\",\"outcome\":\"primary\"}",
                    lines.get(0));
            assertTrue(lines.get(1).contains("\"actor\":\"operator\""));
        }
    }
}
