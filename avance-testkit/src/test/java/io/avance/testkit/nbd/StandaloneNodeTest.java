package io.avance.testkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.VolumeSpec;
import io.avance.api.replication.VolumeStatus;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.VolumeConfig;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.tools.EventWaiter;
import io.avance.testkit.tools.ExternalTool;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node with no peer serves its volumes alone over NBD, and its dirty bitmap records every
 * block written, across a restart, for the peer that will join.
 */
class StandaloneNodeTest {

    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;

    @Test
    void aStandaloneNodeServesAndTracksEveryWriteForThePeerToCome() throws Exception {
        NodeConfig config = NodeConfig.builder("solo")
                .dataDirectory(directory.resolve("solo"))
                .nbdListen(new InetSocketAddress("127.0.0.1", 0))
                .volume(new VolumeConfig(VolumeSpec.of("data", 16 * MIB), Optional.empty()))
                .build();
        EventWaiter events = new EventWaiter();
        try (AvanceNode node = AvanceNode.builder(config).listener(events).build()) {
            node.start();
            events.await(() -> node.role() == PairRole.PRIMARY && node.mayServe(), Duration.ofSeconds(10),
                    () -> "the standalone node never served: " + node.status());
            String uri = "nbd://127.0.0.1:" + node.nbdAddress().orElseThrow().getPort() + "/data";
            String output = ExternalTool.ok(60, "qemu-io", "-f", "raw", uri,
                    "-c", "write -P 0x42 0 64k", "-c", "write -P 0x43 1M 4k", "-c", "flush",
                    "-c", "read -P 0x42 0 64k", "-c", "read -P 0x43 1M 4k");
            assertFalse(output.contains("Pattern verification failed"), output);
            VolumeStatus status = node.volumes().status("data").orElseThrow();
            assertEquals(ReplicationState.STANDALONE, status.state());
            assertEquals(64 * 1024 + 4096, status.dirtyBytes(), "every written block, and only those");
        }
        // After a restart the node serves again, and still knows what the peer will lack.
        try (AvanceNode node = AvanceNode.builder(config).listener(events).build()) {
            node.start();
            events.await(() -> node.role() == PairRole.PRIMARY && node.mayServe(), Duration.ofSeconds(10),
                    () -> "the standalone node never served after its restart: " + node.status());
            assertEquals(64 * 1024 + 4096, node.volumes().status("data").orElseThrow().dirtyBytes());
            String uri = "nbd://127.0.0.1:" + node.nbdAddress().orElseThrow().getPort() + "/data";
            assertTrue(ExternalTool.run(60, "qemu-io", "-f", "raw", uri, "-c", "read -P 0x43 1M 4k").output()
                    .contains("read 4096/4096"));
        }
    }
}
