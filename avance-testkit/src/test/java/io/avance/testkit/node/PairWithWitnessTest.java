package io.avance.testkit.node;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.core.node.AvanceNode;
import io.avance.core.time.NanoClock;
import io.avance.core.witness.WitnessServer;
import io.avance.testkit.tools.InProcessPair;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pair with a real quorum witness on loopback: a takeover goes through the witness's grant. */
class PairWithWitnessTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    @Test
    void theBackupTakesOverWithTheWitnessesGrant() throws Exception {
        InProcessPair configured = InProcessPair.in(directory);
        try (WitnessServer witness = new WitnessServer(new InetSocketAddress("127.0.0.1", 0),
                configured.pairingSecret(), directory.resolve("witness"), NanoClock.system(), 5_000_000_000L)) {
            InetSocketAddress witnessAddress = witness.address();
            try (InProcessPair pair = configured.configure((id, config) -> config.witness(witnessAddress))
                    .start(AvanceNode::builder)) {
                pair.events().await(() -> pair.a().role() == PairRole.PRIMARY && pair.b().role() == PairRole.BACKUP,
                        LIMIT, () -> "no pairing: a " + pair.a().role() + ", b " + pair.b().role());
                pair.stop("a");
                AvanceNode b = pair.b();
                pair.events().await(() -> b.role() == PairRole.PRIMARY, LIMIT, () -> "no takeover: b is " + b.role());
                assertTrue(b.mayServe());
                // The role is visible a moment before the audit entry is queued.
                pair.events().await(() -> b.journal().readLines().stream()
                        .anyMatch(line -> line.contains("the witness granted")), LIMIT,
                        () -> "the takeover did not go through the witness: " + b.journal().readLines());
            }
        }
    }
}
