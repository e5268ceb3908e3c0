package io.avance.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code avance init} as an integrator runs it: a private-link address and each public network's
 * addresses, separately, checked before anything is written. (Loopback addresses stand in for
 * the NICs: all of 127.0.0.0/8 is this host's.)
 */
class InitCommandTest {

    @TempDir
    Path directory;

    private record Run(int status, String out, String err) {
    }

    private Run init(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        int status;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            List<String> all = new ArrayList<>(List.of("init", "--dir", directory.toString()));
            all.addAll(List.of(args));
            status = new CommandLine(new Avance()).execute(all.toArray(String[]::new));
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void eachPathGetsItsOwnAddressesAndTheConfigurationIsValid() throws Exception {
        Run run = init("--private-address", "127.0.0.11", "--peer-private-address", "127.0.0.12",
                "--public", "lan=127.0.1.11,127.0.1.12", "--public", "store=127.0.2.11,127.0.2.12",
                "--hypervisor", "xen", "--data-dir", "/var/lib/avance");
        assertEquals(0, run.status(), run.err());
        NodeConfig config = NodeConfigFile.read(directory.resolve("avance.properties"));
        assertEquals("127.0.0.11", config.privateListen().getHostString());
        assertEquals("127.0.0.12", config.peer().orElseThrow().privateAddress().getHostString());
        assertEquals(List.of("lan", "store"), config.publicPaths().stream().map(p -> p.name()).toList());
        assertEquals("127.0.1.11", config.publicPaths().get(0).bind().getHostString());
        assertEquals("127.0.2.12", config.publicPaths().get(1).peerAddress().getHostString());
        String text = Files.readString(directory.resolve("avance.properties"));
        assertTrue(text.contains("hypervisor = xen") && text.contains("node.data-dir = /var/lib/avance"), text);
        assertTrue(Files.readString(directory.resolve("pairing.secret")).startsWith("hex:"));
    }

    @Test
    void theSameAddressForThePrivateLinkAndAPublicNetworkIsRefusedAndNothingIsWritten() {
        Run run = init("--private-address", "127.0.0.11", "--peer-private-address", "127.0.0.12",
                "--public", "lan=127.0.0.11,127.0.1.12");
        assertEquals(2, run.status());
        assertTrue(run.err().contains("--public lan: 127.0.0.11 is also this node's private-link address"), run.err());
        assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
        assertFalse(Files.exists(directory.resolve("avance.properties")));
        assertFalse(Files.exists(directory.resolve("pairing.secret")));
    }

    @Test
    void badAddressesAreNamedByTheirOption() {
        assertTrue(init("--private-address", "192.0.2.77", "--peer-private-address", "127.0.0.12",
                "--public", "lan=127.0.1.11,127.0.1.12").err()
                .contains("--private-address 192.0.2.77 is not an address of this host"));
        assertTrue(init("--private-address", "127.0.0.11", "--peer-private-address", "peer.example",
                "--public", "lan=127.0.1.11,127.0.1.12").err()
                .contains("--peer-private-address 'peer.example' is not an IP address"));
        assertTrue(init("--private-address", "127.0.0.11", "--peer-private-address", "127.0.0.11",
                "--public", "lan=127.0.1.11,127.0.1.12").err()
                .contains("--peer-private-address: the peer's address 127.0.0.11 is this node's own"));
        assertTrue(init("--private-address", "127.0.0.11", "--peer-private-address", "127.0.0.12",
                "--public", "lan:127.0.1.11").err().contains("--public 'lan:127.0.1.11': NAME=THIS-ADDRESS,PEER-ADDRESS"));
        assertTrue(init("--private-address", "127.0.0.11", "--peer-private-address", "127.0.0.12").err()
                .contains("--public is needed (no console to ask on)"));
        assertFalse(Files.exists(directory.resolve("avance.properties")));
    }

    @Test
    void aStandaloneNodeNeedsNoPeerAndNoPublicNetwork() throws Exception {
        Run run = init("--private-address", "127.0.0.11", "--peer-private-address", "none");
        assertEquals(0, run.status(), run.err());
        assertTrue(NodeConfigFile.read(directory.resolve("avance.properties")).peer().isEmpty());
    }
}
