package io.avance.core.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.avance.api.NodeId;
import io.avance.api.failover.WitnessAnswer;
import io.avance.core.time.ManualClock;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The witness over real UDP on loopback, with its clock driven by the test. */
class WitnessServerTest {

    private static final Duration LEASE = Duration.ofMillis(500);
    private static final NodeId ALPHA = NodeId.of("alpha");
    private static final NodeId BETA = NodeId.of("beta");

    @TempDir
    Path directory;

    private final ManualClock clock = new ManualClock();

    private static byte[] secret(int fill) {
        byte[] bytes = new byte[32];
        Arrays.fill(bytes, (byte) fill);
        return bytes;
    }

    private WitnessServer server() throws Exception {
        return new WitnessServer(new InetSocketAddress("127.0.0.1", 0), secret(1), directory, clock,
                Duration.ofSeconds(5).toNanos());
    }

    private static UdpQuorumWitness client(WitnessServer server, byte[] secret) throws Exception {
        return new UdpQuorumWitness(server.address(), secret, 2_000, 2);
    }

    @Test
    void grantsRenewsRefusesWhileALeaseRunsAndGrantsOnceItEnds() throws Exception {
        try (WitnessServer server = server()) {
            clock.advance(Duration.ofSeconds(10));
            UdpQuorumWitness witness = client(server, secret(1));
            assertEquals(WitnessAnswer.Outcome.GRANTED, witness.claim(ALPHA, 1, LEASE).outcome());
            assertEquals(WitnessAnswer.Outcome.GRANTED, witness.claim(ALPHA, 1, LEASE).outcome(), "renewal");
            WitnessAnswer refused = witness.claim(BETA, 3, LEASE);
            assertEquals(WitnessAnswer.Outcome.REFUSED, refused.outcome(), "alpha's lease still runs");
            assertEquals(Optional.of(ALPHA), refused.holder());
            assertEquals(1, refused.epoch());
            clock.advance(LEASE);
            assertEquals(WitnessAnswer.Outcome.GRANTED, witness.claim(BETA, 3, LEASE).outcome());
            assertEquals(WitnessAnswer.Outcome.REFUSED, witness.claim(ALPHA, 1, LEASE).outcome(),
                    "the old epoch cannot be renewed any more");
            assertEquals(WitnessAnswer.Outcome.REFUSED, witness.claim(ALPHA, 2, LEASE).outcome(),
                    "nor can an epoch older than the recorded one be claimed");
        }
    }

    @Test
    void aRestartedWitnessRemembersTheHolderAndWaitsOutItsLongestLease() throws Exception {
        try (WitnessServer server = server()) {
            clock.advance(Duration.ofSeconds(10));
            assertEquals(WitnessAnswer.Outcome.GRANTED, client(server, secret(1)).claim(ALPHA, 4, LEASE).outcome());
        }
        try (WitnessServer restarted = server()) {
            UdpQuorumWitness witness = client(restarted, secret(1));
            clock.advance(Duration.ofSeconds(1));
            assertEquals(WitnessAnswer.Outcome.REFUSED, witness.claim(BETA, 5, LEASE).outcome(),
                    "a restarted witness must not assume the holder's lease ended");
            clock.advance(Duration.ofSeconds(5));
            assertEquals(WitnessAnswer.Outcome.GRANTED, witness.claim(BETA, 5, LEASE).outcome());
        }
    }

    @Test
    void aClaimWithTheWrongSecretGetsNoAnswer() throws Exception {
        try (WitnessServer server = server()) {
            UdpQuorumWitness stranger = new UdpQuorumWitness(server.address(), secret(2), 100, 2);
            assertEquals(WitnessAnswer.Outcome.UNREACHABLE, stranger.claim(ALPHA, 1, LEASE).outcome());
        }
    }
}
