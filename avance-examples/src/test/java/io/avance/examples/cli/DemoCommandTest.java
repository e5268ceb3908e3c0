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

/** The README's main job, run as a user would: the demo finishes by itself and tells its story. */
class DemoCommandTest {

    @TempDir
    Path directory;

    @Test
    void theDemoMigratesTakesOverRecoversAndLosesNothing() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int status;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            status = new CommandLine(new Avance()).execute("demo", "--dir", directory.toString());
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, status, output);
        assertTrue(output.contains("paired: alpha is PRIMARY, beta is BACKUP"), output);
        assertTrue(output.contains("graceful failover by live migration: vm1 moved to beta (COMPLETED)"), output);
        assertTrue(output.contains("vm1 restarted on alpha from its replicated disk"), output);
        assertTrue(output.contains("rejoined as BACKUP and was resynchronised"), output);
        assertTrue(output.matches("(?s).*Detection \\d+ ms, takeover \\d+ ms, VM serving again \\d+ ms after SIGKILL.*"),
                output);
        assertTrue(output.matches("(?s).*Final check: [1-9]\\d* writes acknowledged to the client, 0 missing or wrong "
                + "after all that: nothing lost.*"), output);
    }

    @Test
    void aBadConfigurationFileIsReportedByKeyAndTheCommandFails() throws Exception {
        Path config = directory.resolve("bad.properties");
        java.nio.file.Files.writeString(config, "node.id = alpha\nnode.data-dir = x\ntiming.hartbeat = 1s\n");
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        PrintStream original = System.err;
        int status;
        try {
            System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
            status = new CommandLine(new Avance()).execute("node", "--config", config.toString());
        } finally {
            System.setErr(original);
        }
        assertEquals(2, status);
        assertTrue(errors.toString(StandardCharsets.UTF_8).contains("timing.hartbeat = '1s': unknown key"), errors.toString());
    }
}
