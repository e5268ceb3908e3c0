package io.avance.core.witness;

import io.avance.api.NodeId;
import io.avance.api.failover.QuorumWitness;
import io.avance.api.failover.WitnessAnswer;
import io.avance.core.link.Datagrams;
import io.avance.core.link.PairingKey;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.ProtocolException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * A node's client of a {@link WitnessServer}: one datagram out, one back, a few tries within a
 * time limit. Never throws for network trouble: no answer in time is
 * {@link WitnessAnswer.Outcome#UNREACHABLE}. Thread-safe (each claim uses its own socket).
 */
public final class UdpQuorumWitness implements QuorumWitness {

    private static final Logger LOG = System.getLogger(UdpQuorumWitness.class.getName());
    private static final Set<FrameType> ACCEPTED = EnumSet.of(FrameType.WITNESS_ANSWER);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final InetSocketAddress address;
    private final PairingKey key;
    private final int attemptTimeoutMillis;
    private final int attempts;

    /**
     * Creates the client.
     *
     * @param address              the witness
     * @param secret               the pair's secret
     * @param attemptTimeoutMillis how long to wait for each answer
     * @param attempts             how many times to send the claim
     */
    public UdpQuorumWitness(InetSocketAddress address, byte[] secret, int attemptTimeoutMillis, int attempts) {
        this.address = address.isUnresolved() ? new InetSocketAddress(address.getHostString(), address.getPort())
                : address;
        this.key = new PairingKey(secret);
        this.attemptTimeoutMillis = attemptTimeoutMillis;
        this.attempts = attempts;
    }

    @Override
    public WitnessAnswer claim(NodeId node, long epoch, Duration lease) {
        long requestId = RANDOM.nextLong();
        byte[] claim = Datagrams.seal(new Message.WitnessClaim(requestId, node, epoch, lease.toNanos()), key);
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout(attemptTimeoutMillis);
            byte[] buffer = new byte[Datagrams.MAX_BYTES];
            for (int attempt = 0; attempt < attempts; attempt++) {
                socket.send(new DatagramPacket(claim, claim.length, address));
                while (true) {
                    DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                    try {
                        socket.receive(packet);
                    } catch (SocketTimeoutException e) {
                        break;
                    }
                    try {
                        Message.WitnessVerdict verdict = (Message.WitnessVerdict) Datagrams.open(packet.getData(),
                                packet.getLength(), key, ACCEPTED);
                        if (verdict.requestId() != requestId) {
                            continue;
                        }
                        return new WitnessAnswer(verdict.granted() ? WitnessAnswer.Outcome.GRANTED
                                : WitnessAnswer.Outcome.REFUSED, verdict.epoch(), verdict.holder(),
                                Duration.ofNanos(verdict.leaseNanos()));
                    } catch (ProtocolException e) {
                        LOG.log(Level.DEBUG, "ignored a bad answer from the witness: {0}", e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot reach the witness at {0}: {1}", address, e.getMessage());
        }
        return WitnessAnswer.unreachable();
    }

    @Override
    public String toString() {
        return "witness at " + address;
    }
}
