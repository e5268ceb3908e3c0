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

    private static byte[] secret(int fill) {
        byte[] bytes = new byte[32];
        Arrays.fill(bytes, (byte) fill);
        return bytes;
    }

    @Test
    void heartbeatsCrossAndForgeriesAndGarbageAreDropped() throws Exception {
        BlockingQueue<Message> received = new LinkedBlockingQueue<>();
        // The receiver binds a port of the kernel's choosing first; the others then send to it (the
        // receiver never sends, so the peer address it is given is never used).
        PublicPath atB = new PublicPath("lan", new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 9), Optional.empty());
        Message.Heartbeat heartbeat = new Message.Heartbeat(NodeId.of("a"), 1, 1, 0, 0, 0, Optional.empty(),
                PairRole.UNDECIDED, DataState.UP_TO_DATE, false, false, false, Map.of("lan", true), List.of());
        try (PublicNetworkChannel receiver = new PublicNetworkChannel(atB, new PairingKey(secret(1)),
                (n, m) -> received.add(m), "b", NanoClock.system());
             PublicNetworkChannel sender = new PublicNetworkChannel(towards(receiver), new PairingKey(secret(1)),
                     (n, m) -> { }, "a", NanoClock.system());
             PublicNetworkChannel forger = new PublicNetworkChannel(towards(receiver), new PairingKey(secret(2)),
                     (n, m) -> { }, "x", NanoClock.system());
             DatagramSocket raw = new DatagramSocket()) {
            forger.send(heartbeat);
            byte[] garbage = "not a heartbeat at all, just some bytes".getBytes();
            raw.send(new DatagramPacket(garbage, garbage.length, receiver.localAddress()));
            sender.send(heartbeat);
            assertEquals(heartbeat, received.poll(5, TimeUnit.SECONDS));
            assertNull(received.poll(200, TimeUnit.MILLISECONDS), "a forged or garbage datagram got through");
        }
    }

    private static PublicPath towards(PublicNetworkChannel receiver) throws Exception {
        return new PublicPath("lan", new InetSocketAddress("127.0.0.1", 0), receiver.localAddress(), Optional.empty());
    }
}
