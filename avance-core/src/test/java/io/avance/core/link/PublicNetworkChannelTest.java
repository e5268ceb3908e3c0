package io.avance.core.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.replication.DataState;
import io.avance.core.config.PublicPath;
import io.avance.core.time.NanoClock;
import io.avance.core.wire.Message;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PublicNetworkChannelTest {

    private static int freeUdpPort() throws Exception {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static byte[] secret(int fill) {
        byte[] bytes = new byte[32];
        Arrays.fill(bytes, (byte) fill);
        return bytes;
    }

    @Test
    void heartbeatsCrossAndForgeriesAndGarbageAreDropped() throws Exception {
        int a = freeUdpPort();
        int b = freeUdpPort();
        BlockingQueue<Message> received = new LinkedBlockingQueue<>();
        PublicPath atA = new PublicPath("lan", new InetSocketAddress("127.0.0.1", a), new InetSocketAddress("127.0.0.1", b),
                Optional.empty());
        PublicPath atB = new PublicPath("lan", new InetSocketAddress("127.0.0.1", b), new InetSocketAddress("127.0.0.1", a),
                Optional.empty());
        PublicPath forgerPath = new PublicPath("lan", new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", b), Optional.empty());
        Message.Heartbeat heartbeat = new Message.Heartbeat(NodeId.of("a"), 1, 1, 0, 0, 0, Optional.empty(),
                PairRole.UNDECIDED, DataState.UP_TO_DATE, false, false, false, Map.of("lan", true), List.of());
        try (PublicNetworkChannel sender = new PublicNetworkChannel(atA, new PairingKey(secret(1)), (n, m) -> { },
                "a", NanoClock.system());
             PublicNetworkChannel receiver = new PublicNetworkChannel(atB, new PairingKey(secret(1)),
                     (n, m) -> received.add(m), "b", NanoClock.system());
             PublicNetworkChannel forger = new PublicNetworkChannel(forgerPath, new PairingKey(secret(2)), (n, m) -> { },
                     "x", NanoClock.system());
             DatagramSocket raw = new DatagramSocket()) {
            forger.send(heartbeat);
            byte[] garbage = "not a heartbeat at all, just some bytes".getBytes();
            raw.send(new DatagramPacket(garbage, garbage.length, InetAddress.getLoopbackAddress(), b));
            sender.send(heartbeat);
            assertEquals(heartbeat, received.poll(5, TimeUnit.SECONDS));
            assertNull(received.poll(200, TimeUnit.MILLISECONDS), "a forged or garbage datagram got through");
        }
    }
}
