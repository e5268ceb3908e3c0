package io.avance.core.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.core.availability.AvailabilityRecorder;
import io.avance.core.operations.Operations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The measured availability of a real pair on loopback: the primary stops, the backup takes over,
 * and the survivor records one outage from when it last heard the primary serve to when it
 * served itself.
 */
class PairAvailabilityTest {

    @TempDir
    Path directory;

    @Test
    void aTakeoverIsRecordedAsOneOutageByTheNodeThatTookOver() throws Exception {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 9);
        int[] tcp = {TwoNodesOnLoopbackTest.freeTcpPort(), TwoNodesOnLoopbackTest.freeTcpPort()};
        int[] udp = {TwoNodesOnLoopbackTest.freeUdpPort(), TwoNodesOnLoopbackTest.freeUdpPort()};
        AvanceNode a = AvanceNode.builder(TwoNodesOnLoopbackTest.loopback(directory, "a", "b", tcp[0], tcp[1], udp[0],
                udp[1], secret).build()).build();
        AvanceNode b = AvanceNode.builder(TwoNodesOnLoopbackTest.loopback(directory, "b", "a", tcp[1], tcp[0], udp[1],
                udp[0], secret).build()).build();
        try (a; b) {
            a.start();
            b.start();
            TwoNodesOnLoopbackTest.await(() -> (a.role() == PairRole.PRIMARY && b.role() == PairRole.BACKUP)
                    || (b.role() == PairRole.PRIMARY && a.role() == PairRole.BACKUP), Duration.ofSeconds(15), "no pair");
            AvanceNode primary = a.role() == PairRole.PRIMARY ? a : b;
            AvanceNode backup = primary == a ? b : a;
            try (Operations onPrimary = Operations.builder(primary).start();
                 Operations onBackup = Operations.builder(backup).start()) {
                // Let both record a serving pair for a while.
                TwoNodesOnLoopbackTest.await(() -> onBackup.availability().outages().isEmpty()
                        && onPrimary.availability().availability(Duration.ofDays(30)) == 1.0
                        && java.time.Instant.now().isAfter(onBackup.availability().since().plusMillis(600)),
                        Duration.ofSeconds(10), "the pair did not serve");
                onPrimary.close();
                primary.close();
                TwoNodesOnLoopbackTest.await(() -> backup.mayServe() && !onBackup.availability().outages().isEmpty()
                        && !onBackup.availability().inOutage(), Duration.ofSeconds(15), "no takeover recorded");
                List<AvailabilityRecorder.Outage> outages = onBackup.availability().outages();
                assertEquals(1, outages.size(), outages.toString());
                Duration lasted = outages.get(0).duration();
                assertTrue(lasted.compareTo(Duration.ZERO) > 0 && lasted.compareTo(Duration.ofSeconds(5)) < 0,
                        "the outage lasted about the detection time: " + lasted);
                assertTrue(outages.get(0).cause().contains("became primary"), outages.get(0).cause());
                assertTrue(onBackup.availability().availability(Duration.ofDays(30)) < 1.0);
                assertTrue(backup.journal().read(e -> e.action().equals("outage"), 1).size() == 1);
            }
        }
    }
}
