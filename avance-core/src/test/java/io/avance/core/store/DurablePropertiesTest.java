package io.avance.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurablePropertiesTest {

    @TempDir
    Path directory;

    @Test
    void roundTripsAndReplacesWholesale() {
        Path file = directory.resolve("state.properties");
        assertTrue(DurableProperties.read(file).isEmpty());
        DurableProperties.write(file, Map.of("epoch", "3", "primary", "alpha"));
        assertEquals(Map.of("epoch", "3", "primary", "alpha"), DurableProperties.read(file).orElseThrow());
        DurableProperties.write(file, Map.of("epoch", "4"));
        assertEquals(Map.of("epoch", "4"), DurableProperties.read(file).orElseThrow());
        assertTrue(Files.notExists(directory.resolve(".state.properties.tmp")), "no temporary file is left");
    }

    @Test
    void aDamagedFileIsDetectedNotTrusted() throws Exception {
        Path file = directory.resolve("state.properties");
        DurableProperties.write(file, Map.of("epoch", "3"));
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Files.writeString(file, text.replace("epoch=3", "epoch=9"), StandardCharsets.UTF_8);
        assertThrows(DurableProperties.CorruptFileException.class, () -> DurableProperties.read(file));
        Files.writeString(file, "epoch=3\n", StandardCharsets.UTF_8);
        assertThrows(DurableProperties.CorruptFileException.class, () -> DurableProperties.read(file));
    }

    @Test
    void refusesEntriesItCouldNotReadBack() {
        Path file = directory.resolve("x");
        assertThrows(IllegalArgumentException.class, () -> DurableProperties.write(file, Map.of("a=b", "c")));
        assertThrows(IllegalArgumentException.class, () -> DurableProperties.write(file, Map.of("a", "line\nbreak")));
    }
}
