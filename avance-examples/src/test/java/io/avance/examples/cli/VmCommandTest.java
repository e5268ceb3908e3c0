package io.avance.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code avance vm create} refuses bad sizes in one line naming the option, before it reaches any
 * node (what a node refuses is tested on a real pair: {@code ProvisioningTest}, {@code MonitorPeerTest}).
 */
class VmCommandTest {

    @TempDir
    Path directory;

    private String errorsOf(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, new CommandLine(new Avance()).execute(args));
        } finally {
            System.setErr(original);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aBadSizeIsNamedByItsOption() {
        String socket = directory.resolve("admin.sock").toString();
        String memory = errorsOf("vm", "create", "web", "--memory", "1Gx", "--disk", "4GiB", "--socket", socket);
        assertTrue(memory.contains("--memory") && memory.contains("1Gx") && memory.contains("not a size"), memory);
        assertEquals(1, memory.strip().lines().count(), memory);
        String disk = errorsOf("vm", "create", "web", "--memory", "1GiB", "--disk", "lots", "--socket", socket);
        assertTrue(disk.contains("--disk") && disk.contains("lots"), disk);
    }
}
