package io.avance.core.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The private link on real loopback sockets: the handshake, and every way a connection can be
 * bad. A bad connection is closed; the listening node keeps accepting good ones.
 */
class PrivateLinkTest {

    private static final long HANDSHAKE_TIMEOUT = TimeUnit.SECONDS.toNanos(2);

    private EventLoopGroup group;
    private final Recorder alphaEvents = new Recorder();
    private final Recorder betaEvents = new Recorder();

    @BeforeEach
    void startLoops() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterEach
    void stopLoops() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    static final class Recorder implements LinkListener {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();

        @Override
        public void onSessionUp(long peerIncarnation) {
            events.add("up " + peerIncarnation);
        }

        @Override
        public void onSessionDown(String reason) {
            events.add("down");
        }

        @Override
        public void onMessage(Message message) {
            messages.add(message);
        }

        String next() throws InterruptedException {
            String event = events.poll(10, TimeUnit.SECONDS);
            if (event == null) {
                throw new AssertionError("no link event within 10 s");
            }
            return event;
        }
    }

    private static byte[] secret(int fill) {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) fill);
        return secret;
    }

    /**
     * A link of the node with the larger id, which only accepts: it listens on a port of the
     * kernel's choosing (reported by {@link PrivateLink#localAddress()}) and never dials, so the
     * peer address it is given is never used.
     */
    private PrivateLink accepting(String self, String peer, byte[] secret, long incarnation, LinkListener listener) {
        PrivateLink link = link(self, peer, new InetSocketAddress("127.0.0.1", 9), secret, incarnation, listener);
        link.start();
        return link;
    }

    /** A link of the node with the smaller id, which dials the peer at an address it is given. */
    private PrivateLink link(String self, String peer, InetSocketAddress dials, byte[] secret, long incarnation,
                             LinkListener listener) {
        return new PrivateLink(NodeId.of(self), NodeId.of(peer), new InetSocketAddress("127.0.0.1", 0), dials,
                new PairingKey(secret), incarnation, HANDSHAKE_TIMEOUT, TimeUnit.MILLISECONDS.toNanos(50), 1 << 20,
                group, listener, null);
    }

    /**
     * A node that reboots in process starts a new link on the address its old one listened on.
     * The JDK closes a listening socket only when its selector next selects, after the close has
     * completed; before the link waited for that, about one start in forty failed here with
     * "Address already in use" (the chance failure of a replication test that reconnects).
     */
    @Test
    void aClosedLinkCanListenAgainAtOnceOnTheSameAddress() {
        InetSocketAddress address;
        try (PrivateLink first = accepting("beta", "alpha", secret(1), 22, betaEvents)) {
            address = first.localAddress();
        }
        for (int restart = 1; restart <= 400; restart++) {
            PrivateLink again = new PrivateLink(NodeId.of("beta"), NodeId.of("alpha"), address,
                    new InetSocketAddress("127.0.0.1", 9), new PairingKey(secret(1)), 22 + restart, HANDSHAKE_TIMEOUT,
                    TimeUnit.MILLISECONDS.toNanos(50), 1 << 20, group, betaEvents, null);
            try {
                again.start();
            } catch (IllegalStateException e) {
                throw new AssertionError("restart " + restart + ": " + e.getMessage(), e);
            } finally {
                again.close();
            }
        }
    }

    @Test
    void nodesWithTheSameSecretOpenASessionAndExchangeMessages() throws Exception {
        try (PrivateLink beta = accepting("beta", "alpha", secret(1), 22, betaEvents);
             PrivateLink alpha = link("alpha", "beta", beta.localAddress(), secret(1), 11, alphaEvents)) {
            alpha.start();
            assertEquals("up 22", alphaEvents.next());
            assertEquals("up 11", betaEvents.next());
            assertTrue(alpha.send(new Message.RebootRequest(3, 1, 77, "test")));
            Message received = betaEvents.messages.poll(10, TimeUnit.SECONDS);
            assertEquals(new Message.RebootRequest(3, 1, 77, "test"), received);
        }
    }

    @Test
    void aNodeWithTheWrongSecretIsRefusedAndNoSessionOpens() throws Exception {
        try (PrivateLink beta = accepting("beta", "alpha", secret(1), 22, betaEvents);
             PrivateLink alpha = link("alpha", "beta", beta.localAddress(), secret(2), 11, alphaEvents)) {
            alpha.start();
            // The dialer retries every 50 ms; none of its attempts may open a session.
            assertEquals(null, alphaEvents.events.poll(1, TimeUnit.SECONDS));
            assertEquals(null, betaEvents.events.poll(10, TimeUnit.MILLISECONDS));
            assertFalse(alpha.connected());
            assertFalse(beta.connected());
        }
    }

    @Test
    void aNodeClaimingAnotherIdIsRefused() throws Exception {
        try (PrivateLink beta = accepting("beta", "alpha", secret(1), 22, betaEvents);
             PrivateLink impostor = link("alpha", "gamma", beta.localAddress(), secret(1), 11, alphaEvents)) {
            impostor.start();
            assertEquals(null, betaEvents.events.poll(1, TimeUnit.SECONDS));
        }
    }

    @Test
    void garbageOversizedFramesAndEarlyMessagesCloseOnlyThatConnection() throws Exception {
        try (PrivateLink beta = accepting("beta", "alpha", secret(1), 22, betaEvents)) {
            InetSocketAddress betaAddress = beta.localAddress();
            assertClosedByServer(betaAddress, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            ByteBuf oversized = Unpooled.buffer();
            oversized.writeInt(FrameFormat.MAGIC).writeByte(1).writeByte(FrameType.HEARTBEAT.code()).writeShort(0)
                    .writeInt(Integer.MAX_VALUE).writeInt(0);
            assertClosedByServer(betaAddress, toArray(oversized));
            ByteBuf early = Unpooled.buffer();
            FrameFormat.write(early, FrameType.REBOOT_REQUEST, Unpooled.wrappedBuffer(new byte[20]));
            assertClosedByServer(betaAddress, toArray(early));
            ByteBuf badCrc = Unpooled.buffer();
            FrameFormat.write(badCrc, FrameType.READY, Unpooled.wrappedBuffer(new byte[2]));
            badCrc.setByte(badCrc.writerIndex() - 1, 1);
            assertClosedByServer(betaAddress, toArray(badCrc));

            // After all that, the real peer still gets in.
            try (PrivateLink alpha = link("alpha", "beta", betaAddress, secret(1), 11, alphaEvents)) {
                alpha.start();
                assertEquals("up 22", alphaEvents.next());
                assertEquals("up 11", betaEvents.next());
            }
        }
    }

    @Test
    void aConnectionThatNeverCompletesTheHandshakeIsClosedAfterTheTimeout() throws Exception {
        try (PrivateLink beta = accepting("beta", "alpha", secret(1), 22, betaEvents)) {
            assertClosedAfterSilence(beta.localAddress());
        }
    }

    private static void assertClosedAfterSilence(InetSocketAddress server) throws IOException {
        try (Socket silent = new Socket(server.getAddress(), server.getPort())) {
            silent.setSoTimeout(10_000);
            InputStream in = silent.getInputStream();
            long start = System.nanoTime();
            // The server's HELLO arrives, then nothing, then the close.
            while (in.read() >= 0) {
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(9), "never closed");
            }
            long waited = System.nanoTime() - start;
            assertTrue(waited >= HANDSHAKE_TIMEOUT / 2, "closed after only " + waited / 1_000_000 + " ms");
        }
    }

    private static byte[] toArray(ByteBuf buf) {
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        buf.release();
        return bytes;
    }

    private static void assertClosedByServer(InetSocketAddress server, byte[] bytes) throws IOException {
        try (Socket socket = new Socket(server.getAddress(), server.getPort())) {
            socket.setSoTimeout(5_000);
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            try {
                while (in.read() >= 0) {
                    // the server's HELLO, then end of stream
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the connection was not closed after " + bytes.length + " bad bytes", e);
            } catch (IOException reset) {
                // closed with a reset: also closed
            }
        }
    }
}
