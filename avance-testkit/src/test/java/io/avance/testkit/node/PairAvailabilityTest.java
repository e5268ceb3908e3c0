package io.avance.testkit.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.core.availability.AvailabilityRecorder;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.testkit.tools.InProcessPair;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The measured availability of a real pair on loopback: the primary stops, the backup takes over,
 * and the survivor records one outage from when it last heard the primary serve to when it
 * served itself.
 */
class PairAvailabilityTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    @Test
    void aTakeoverIsRecordedAsOneOutageByTheNodeThatTookOver() throws Exception {
        try (InProcessPair pair = InProcessPair.in(directory).start(AvanceNode::builder)) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            try (Operations onPrimary = Operations.builder(primary).start();
                 Operations onBackup = Operations.builder(backup).start()) {
                // Let both record a serving pair for a while.
                pair.events().await(() -> onBackup.availability().outages().isEmpty()
                        && onPrimary.availability().availability(Duration.ofDays(30)) == 1.0
                        && Instant.now().isAfter(onBackup.availability().since().plusMillis(600)), LIMIT,
                        () -> "the pair did not serve: outages " + onBackup.availability().outages()
                                + ", availability " + onPrimary.availability().availability(Duration.ofDays(30)));
                onPrimary.close();
                pair.stop(primary.id().value());
                pair.events().await(() -> backup.mayServe() && !onBackup.availability().outages().isEmpty()
                        && !onBackup.availability().inOutage(), LIMIT,
                        () -> "no takeover recorded: the backup is " + backup.role() + ", serving "
                                + backup.mayServe() + ", outages " + onBackup.availability().outages()
                                + ", in an outage " + onBackup.availability().inOutage());
                List<AvailabilityRecorder.Outage> outages = onBackup.availability().outages();
                assertEquals(1, outages.size(), outages.toString());
                Duration lasted = outages.get(0).duration();
                assertTrue(lasted.compareTo(Duration.ZERO) > 0 && lasted.compareTo(Duration.ofSeconds(5)) < 0,
                        "the outage lasted about the detection time: " + lasted);
                assertTrue(outages.get(0).cause().contains("became primary"), outages.get(0).cause());
                assertTrue(onBackup.availability().availability(Duration.ofDays(30)) < 1.0);
                // The outage is journaled right after it is recorded, on the recorder's thread.
                pair.events().await(() -> backup.journal().read(e -> e.action().equals("outage"), 1).size() == 1,
                        LIMIT, () -> "the outage was not journaled: " + backup.journal().readLines());
            }
        }
    }
}
