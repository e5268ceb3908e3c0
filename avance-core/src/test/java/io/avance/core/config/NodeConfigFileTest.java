package io.avance.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeConfigFileTest {

    @TempDir
    Path directory;

    private static final String SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    private String valid() {
        return String.join("\n",
                "node.id = alpha",
                "node.data-dir = data",
                "pairing.secret = " + SECRET,
                "private.listen = 127.0.0.1:7400",
                "peer.id = beta",
                "peer.private-address = 127.0.0.1:7500",
                "public.lan.bind = 127.0.0.1:7401",
                "public.lan.peer = 127.0.0.1:7501",
                "timing.heartbeat-interval = 50ms",
                "timing.detection-minimum = 300ms",
                "timing.detection-maximum = 1s",
                "timing.safety-margin = 50ms",
                "engine.tick-interval = 10ms");
    }

    private NodeConfig parse(String text) {
        return NodeConfigFile.parse(new StringReader(text), directory);
    }

    private ConfigException error(String text) {
        return assertThrows(ConfigException.class, () -> parse(text));
    }

    @Test
    void aCompleteFileIsReadWithRelativePathsResolved() {
        NodeConfig config = parse(valid());
        assertEquals("alpha", config.nodeId().value());
        assertEquals(directory.resolve("data"), config.dataDirectory());
        assertEquals("beta", config.peer().orElseThrow().id().value());
        assertEquals(50_000_000L, config.timings().heartbeatIntervalNanos());
        assertEquals(1, config.publicPaths().size());
        assertFalse(config.toString().contains(SECRET.substring(0, 16)), "the secret must never be printed");
        assertEquals(30_000_000_000L, config.replicationAckTimeoutNanos(), "the default");
    }

    @Test
    void replicationSettingsAreReadAndChecked() {
        NodeConfig config = parse(valid() + "\nreplication.ack-timeout = 5s\nreplication.resync-rate = 100MiB/s");
        assertEquals(5_000_000_000L, config.replicationAckTimeoutNanos());
        assertEquals(100L << 20, config.resyncRateBytesPerSecond());
        assertEquals("replication.ack-timeout", error(valid() + "\nreplication.ack-timeout = 10ms").key());
        assertEquals("link.max-frame-size", error(valid() + "\nlink.max-frame-size = 1MiB").key());
    }

    @Test
    void errorsNameTheKeyAndTheValue() {
        ConfigException typo = error(valid() + "\ntiming.hartbeat-interval = 100ms");
        assertEquals("timing.hartbeat-interval", typo.key());
        assertTrue(typo.getMessage().contains("unknown key"), typo.getMessage());

        ConfigException duration = error(valid().replace("50ms", "5 minutes"));
        assertEquals("timing.heartbeat-interval", duration.key());
        assertTrue(duration.getMessage().contains("'5 minutes'"), duration.getMessage());

        ConfigException address = error(valid().replace("127.0.0.1:7500", "127.0.0.1"));
        assertEquals("peer.private-address", address.key());

        ConfigException port = error(valid().replace("127.0.0.1:7501", "127.0.0.1:99999"));
        assertEquals("public.lan.peer", port.key());

        ConfigException id = error(valid().replace("node.id = alpha", "node.id = al pha!"));
        assertEquals("node.id", id.key());

        ConfigException samePeer = error(valid().replace("peer.id = beta", "peer.id = alpha"));
        assertEquals("peer.id", samePeer.key());

        ConfigException tick = error(valid().replace("engine.tick-interval = 10ms", "engine.tick-interval = 40ms"));
        assertEquals("engine.tick-interval", tick.key());
        assertTrue(tick.getMessage().contains("half the heartbeat interval"), tick.getMessage());

        ConfigException timing = error(valid().replace("timing.detection-minimum = 300ms", "timing.detection-minimum = 100ms"));
        assertEquals("timing", timing.key());
        assertTrue(timing.getMessage().contains("3 heartbeat intervals"), timing.getMessage());
    }

    @Test
    void secretsAreRequiredLongEnoughAndRedactedInErrors() throws Exception {
        ConfigException missing = error(valid().replace("pairing.secret = " + SECRET, ""));
        assertEquals("pairing.secret-file", missing.key());
        ConfigException shortSecret = error(valid().replace(SECRET, "0011"));
        assertTrue(shortSecret.getMessage().contains("at least 32 bytes"));
        ConfigException notHex = error(valid().replace(SECRET, "zz" + SECRET.substring(2)));
        assertFalse(notHex.getMessage().contains(SECRET.substring(2, 20)), "the secret leaked into an error");

        Files.writeString(directory.resolve("pairing.secret"), "hex:" + SECRET + "\n");
        NodeConfig fromFile = parse(valid().replace("pairing.secret = " + SECRET, "pairing.secret-file = pairing.secret"));
        assertEquals(32, fromFile.pairingSecret().length);
        ConfigException absent = error(valid().replace("pairing.secret = " + SECRET, "pairing.secret-file = nope"));
        assertEquals("pairing.secret-file", absent.key());
    }

    @Test
    void aPairNeedsAPublicNetworkButAStandaloneNodeDoesNot() {
        ConfigException noPublic = error(valid().replaceAll("public\\.lan\\.[a-z]+ = [0-9.:]+", ""));
        assertEquals("public", noPublic.key());
        NodeConfig standalone = parse("node.id = solo\nnode.data-dir = solo\n");
        assertTrue(standalone.standalone());
    }
}
