package io.avance.testkit.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.core.config.NodeConfig;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.tools.InProcessPair;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes in one JVM, on real loopback sockets: they pair, elect one primary, and the backup
 * takes over when the primary stops.
 */
class TwoNodesOnLoopbackTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    @Test
    void pairElectAndTakeOverWhenThePrimaryStops() throws Exception {
        try (InProcessPair pair = InProcessPair.in(directory).start(AvanceNode::builder)) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            assertEquals("a", primary.id().value(), "the smaller id wins a fresh election");
            assertTrue(primary.mayServe());
            assertTrue(!backup.mayServe());

            pair.stop(primary.id().value());
            pair.events().await(() -> backup.role() == PairRole.PRIMARY, LIMIT,
                    () -> "the backup never took over: it is " + backup.role());
            assertTrue(backup.mayServe());
            long epoch = backup.status().orElseThrow().epoch();
            assertTrue(epoch > 1);

            // The old primary comes back on the same data directory: it reads its persisted epoch,
            // learns of the later one, and rejoins as backup (rule 9).
            AvanceNode returning = pair.restart(primary.id().value());
            pair.events().await(() -> returning.role() == PairRole.BACKUP, LIMIT,
                    () -> "it never rejoined as backup: it is " + returning.role());
            assertEquals(epoch, returning.status().orElseThrow().epoch());
            assertTrue(backup.mayServe());
            assertTrue(!returning.mayServe());
        }
    }

    @Test
    void aSecondProcessCannotUseTheSameDataDirectory() {
        NodeConfig a = InProcessPair.in(directory).config("a");
        try (AvanceNode first = AvanceNode.builder(a).build(); AvanceNode second = AvanceNode.builder(a).build()) {
            first.start();
            IllegalStateException e = assertThrows(IllegalStateException.class, second::start);
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }
}
