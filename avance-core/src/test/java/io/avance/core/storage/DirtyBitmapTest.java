package io.avance.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirtyBitmapTest {

    @TempDir
    Path directory;

    @Test
    void setsClearsCountsAndFindsRuns() {
        DirtyBitmap bitmap = new DirtyBitmap(1 << 20, 4096);
        assertEquals(256, bitmap.blocks());
        assertEquals(1, bitmap.firstBlock(4096));
        assertEquals(2, bitmap.endBlock(4096, 1), "a partial block counts whole");
        bitmap.set(10, 80);
        bitmap.set(70, 90);
        assertEquals(80, bitmap.cardinality());
        assertEquals(80 * 4096, bitmap.dirtyBytes());
        assertEquals(10, bitmap.nextSet(0));
        assertEquals(90, bitmap.nextClear(10));
        bitmap.clear(0, 64);
        assertEquals(64, bitmap.nextSet(0));
        assertEquals(26, bitmap.cardinality());
        assertTrue(bitmap.anySet(60, 65));
        assertFalse(bitmap.anySet(0, 64));
        assertEquals(-1, bitmap.nextSet(90));
        bitmap.setAll();
        assertEquals(256, bitmap.cardinality());
        assertEquals(256, bitmap.nextClear(0));
    }

    @Test
    void theDurableCopyRoundTrips() throws Exception {
        DirtyBitmap bitmap = new DirtyBitmap(64L << 20, 4096);
        bitmap.set(5, 9);
        bitmap.set(10_000, 10_001);
        try (BitmapFile file = new BitmapFile(directory.resolve("v.bitmap"), bitmap)) {
            file.writeAll();
        }
        DirtyBitmap reloaded = new DirtyBitmap(64L << 20, 4096);
        try (BitmapFile file = new BitmapFile(directory.resolve("v.bitmap"), reloaded)) {
            file.loadInto();
        }
        assertEquals(5, reloaded.cardinality());
        assertTrue(reloaded.get(10_000) && reloaded.get(8) && !reloaded.get(9));
    }
}
