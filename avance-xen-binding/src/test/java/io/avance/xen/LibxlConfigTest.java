package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configurations the adapter writes, through the real libxl 4.17 JSON parser, on a machine
 * without Xen: a small shim replaces libxl's hypercall and xenstore handles (libxl needs a
 * context for its allocator), in a JVM of its own, since any real hypercall through the shim
 * would crash. Shows that every configuration is taken whole, and that the round-trip check
 * catches what libxl alone accepts silently.
 */
class LibxlConfigTest {

    @Test
    void libxlTakesOurConfigurationsAndTheCheckCatchesWhatItWouldIgnore(@TempDir Path directory) throws Exception {
        Path source = directory.resolve("libxenshim.c");
        try (InputStream in = LibxlConfigTest.class.getResourceAsStream("libxenshim.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path shim = directory.resolve("libxenshim.so");
        String gcc = NativeLayoutTest.run(List.of("gcc", "-shared", "-fPIC", "-o", shim.toString(), source.toString()));
        assertTrue(Files.exists(shim), "gcc failed (is gcc installed?): " + gcc);
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                LibxlShimMain.class.getName(), shim.toString(), directory.resolve("libxl.log").toString()));
        String output = NativeLayoutTest.run(command);
        List<String> lines = output.lines().filter(l -> l.startsWith("OK ") || l.startsWith("REFUSED ")
                || l.startsWith("ctx_alloc") || l.equals("done")).toList();
        assertEquals("ctx_alloc 0", lines.isEmpty() ? output : lines.get(0), output);
        assertEquals("OK pvh", lines.get(1), output);
        assertEquals("OK pvh-incoming", lines.get(2), output);
        assertEquals("OK hvm-disks-nics", lines.get(3), output);
        assertEquals("OK pvh-boot-from-disk", lines.get(4), output);
        assertEquals("OK pvh-pinned", lines.get(5), output);
        assertTrue(lines.get(6).startsWith("REFUSED misspelt-key: ")
                && lines.get(6).contains("b_info.kernal is missing (libxl ignored it)"), output);
        assertTrue(lines.get(7).startsWith("REFUSED string-for-number: ")
                && lines.get(7).contains("b_info.max_vcpus"), output);
        assertTrue(lines.get(8).startsWith("REFUSED unknown-enum: ")
                && lines.get(8).contains("libxl_domain_config_from_json of VM 'unknown-enum' failed: ERROR_FAIL"),
                output);
        assertEquals("done", lines.get(9), output);
    }
}
