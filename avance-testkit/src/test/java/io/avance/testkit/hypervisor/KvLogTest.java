package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The disk log's format: what replay accepts, and where it stops. */
class KvLogTest {

    private static final int DISK = 256 * 1024;

    private record Entry(long sequence, String key, String value) {
    }

    private static List<Entry> replay(MemoryVolume disk, KvLog[] log) throws Exception {
        List<Entry> entries = new ArrayList<>();
        log[0] = KvLog.replay(disk, (sequence, key, value) -> entries.add(new Entry(sequence,
                new String(key, StandardCharsets.US_ASCII), new String(value, StandardCharsets.US_ASCII))));
        return entries;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void appendedRecordsReplayInOrderAndTheLogContinuesAfterThem() throws Exception {
        MemoryVolume disk = new MemoryVolume("d", DISK);
        KvLog log = KvLog.replay(disk, (s, k, v) -> {
            throw new AssertionError("an empty disk has no records");
        });
        assertEquals(0, log.appendOffset());
        for (int i = 1; i <= 100; i++) {
            assertEquals(i, log.append(ascii("k" + i), ascii("v".repeat(i % 184 + 1))));
        }
        KvLog[] again = new KvLog[1];
        List<Entry> entries = replay(disk, again);
        assertEquals(100, entries.size());
        for (int i = 1; i <= 100; i++) {
            assertEquals(new Entry(i, "k" + i, "v".repeat(i % 184 + 1)), entries.get(i - 1));
        }
        assertEquals(log.appendOffset(), again[0].appendOffset());
        assertEquals(100, again[0].lastSequence());
        assertEquals(101, again[0].append(ascii("next"), ascii("one")));
    }

    @Test
    void replayStopsAtATornLastRecordAndTheNextAppendOverwritesIt() throws Exception {
        MemoryVolume disk = new MemoryVolume("d", DISK);
        KvLog log = KvLog.replay(disk, (s, k, v) -> { });
        long lastOffset = 0;
        for (int i = 1; i <= 10; i++) {
            lastOffset = log.appendOffset();
            log.append(ascii("key" + i), ascii("value-of-record-" + i));
        }
        // A crash during the last write: its second half never reached the disk.
        java.util.Arrays.fill(disk.data, (int) lastOffset + 20, (int) log.appendOffset(), (byte) 0);
        KvLog[] replayed = new KvLog[1];
        List<Entry> entries = replay(disk, replayed);
        assertEquals(9, entries.size(), "the torn record is not replayed");
        assertEquals(lastOffset, replayed[0].appendOffset(), "the next record goes where the torn one started");
        assertEquals(9, replayed[0].lastSequence());
        // A shorter record over the torn one: the torn record's remains after it are not a record.
        assertEquals(10, replayed[0].append(ascii("k"), ascii("v")));
        entries = replay(disk, replayed);
        assertEquals(10, entries.size());
        assertEquals(new Entry(10, "k", "v"), entries.get(9));
    }

    @Test
    void replayStopsAtADamagedRecordAndDoesNotSkipOverIt() throws Exception {
        MemoryVolume disk = new MemoryVolume("d", DISK);
        KvLog log = KvLog.replay(disk, (s, k, v) -> { });
        long[] offsets = new long[10];
        for (int i = 1; i <= 10; i++) {
            offsets[i - 1] = log.appendOffset();
            log.append(ascii("key" + i), ascii("value" + i));
        }
        disk.data[(int) offsets[5] + KvLog.HEADER_BYTES + 2] ^= 0x20;
        KvLog[] replayed = new KvLog[1];
        List<Entry> entries = replay(disk, replayed);
        assertEquals(5, entries.size(), "replay must stop at the bad CRC, not skip to the records after it");
        assertEquals(offsets[5], replayed[0].appendOffset());
    }

    @Test
    void replayStopsAtASequenceGapAndAtBadLengths() throws Exception {
        MemoryVolume disk = new MemoryVolume("d", DISK);
        ByteBuffer first = KvLog.encode(1, ascii("a"), ascii("1"));
        ByteBuffer third = KvLog.encode(3, ascii("c"), ascii("3"));
        int firstLength = first.remaining();
        disk.write(0, first, true);
        disk.write(firstLength, third, true);
        KvLog[] log = new KvLog[1];
        assertEquals(List.of(new Entry(1, "a", "1")), replay(disk, log), "a record out of sequence ends the log");

        MemoryVolume lengths = new MemoryVolume("d", DISK);
        ByteBuffer bad = KvLog.encode(1, ascii("a"), ascii("1"));
        bad.put(12, (byte) 0);
        lengths.write(0, bad, true);
        assertEquals(List.of(), replay(lengths, log), "a key length of 0 is not a record");
    }

    @Test
    void recordsReplayAcrossReadWindowsAndStopAtTheEndOfTheLogArea() throws Exception {
        // 4 MiB disk: a 3 MiB log area, read in 1 MiB windows; fill it to the end.
        MemoryVolume disk = new MemoryVolume("d", 4 << 20);
        KvLog log = KvLog.replay(disk, (s, k, v) -> { });
        byte[] value = ascii("x".repeat(KvTable.MAX_VALUE));
        int count = 0;
        while (log.fits(KvTable.MAX_KEY, value.length)) {
            log.append(ascii(String.format("%064d", count)), value);
            count++;
        }
        assertTrue(log.appendOffset() <= log.areaBytes());
        assertTrue(log.areaBytes() - log.appendOffset() < KvLog.MAX_RECORD_BYTES);
        KvLog[] replayed = new KvLog[1];
        List<Entry> entries = replay(disk, replayed);
        assertEquals(count, entries.size(), "every record of a full log, across read windows");
        assertEquals(log.appendOffset(), replayed[0].appendOffset());
        assertEquals(String.format("%064d", count - 1), entries.get(count - 1).key());
    }

    @Test
    void aFailedAppendDoesNotAdvanceTheLog() throws Exception {
        MemoryVolume disk = new MemoryVolume("d", DISK);
        KvLog log = KvLog.replay(disk, (s, k, v) -> { });
        log.append(ascii("a"), ascii("1"));
        long offset = log.appendOffset();
        disk.failWrites = true;
        assertThrows(IOException.class, () -> log.append(ascii("b"), ascii("2")));
        assertEquals(offset, log.appendOffset());
        assertEquals(1, log.lastSequence());
        disk.failWrites = false;
        assertEquals(2, log.append(ascii("b"), ascii("2")));
    }

    @Test
    void theMagicCannotAppearInsideAKeyOrValue() {
        ByteBuffer record = KvLog.encode(1, ascii("k"), ascii("v"));
        byte first = record.get(0);
        assertTrue(first < 0x21 || first > 0x7E, "the magic's first byte must not be printable ASCII");
        byte[] copy = new byte[record.remaining()];
        record.duplicate().get(copy);
        assertArrayEquals(copy, KvLog.encode(1, ascii("k"), ascii("v")).array(), "encoding is deterministic");
    }
}
