package io.avance.core.link;

import io.avance.core.config.PublicPath;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameDecoder;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.avance.core.wire.ProtocolException;
import io.avance.core.time.NanoClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * Heartbeats (and reboot requests) over one public network, as authenticated UDP datagrams.
 *
 * <pre>
 *   datagram = frame (16-byte header + payload) || HMAC-SHA256(datagram key, frame)[0..16)
 * </pre>
 * Only {@code HEARTBEAT} and {@code REBOOT_REQUEST} frames are accepted. A datagram with a bad MAC,
 * a bad frame or another type is dropped and counted; a burst of them is logged once a minute, not
 * per datagram.
 *
 * <p>Sends are synchronous and happen on the caller's thread (the engine's duty cycle), so a
 * frozen duty cycle sends nothing: the peer's silence then reflects this node's freeze, as the
 * isolation rule requires. Receives run on a thread of this channel's own.
 */
public final class PublicNetworkChannel implements AutoCloseable {

    private static final Logger LOG = System.getLogger(PublicNetworkChannel.class.getName());
    private static final int MAX_DATAGRAM = FrameFormat.HEADER_BYTES + FrameType.HEARTBEAT.maxPayloadBytes()
            + PairingKey.DATAGRAM_MAC_BYTES;

    private final PublicPath path;
    private final PairingKey key;
    private final BiConsumer<String, Message> listener;
    private final DatagramChannel channel;
    private final InetSocketAddress peer;
    private final Thread receiver;
    private volatile boolean closed;
    private final NanoClock clock;
    private long rejected;
    private long lastRejectLogMinute = Long.MIN_VALUE;
    private volatile String lastSendError;

    /**
     * Binds the network's heartbeat address and starts receiving.
     *
     * @param path     the network
     * @param key      the pairing key
     * @param listener receives (network name, message) on the receiving thread
     * @param nodeName for the receiving thread's name
     * @param clock    for rate-limiting log lines
     * @throws IOException if the address cannot be bound
     */
    public PublicNetworkChannel(PublicPath path, PairingKey key, BiConsumer<String, Message> listener, String nodeName,
                                NanoClock clock) throws IOException {
        this.clock = Objects.requireNonNull(clock);
        this.path = Objects.requireNonNull(path);
        this.key = Objects.requireNonNull(key);
        this.listener = Objects.requireNonNull(listener);
        InetSocketAddress bind = PrivateLink.resolve(path.bind());
        this.peer = PrivateLink.resolve(path.peerAddress());
        this.channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(bind);
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot bind public network '" + path.name() + "' heartbeats on " + bind + ": "
                    + e.getMessage(), e);
        }
        this.receiver = new Thread(this::receiveLoop, "avance-public-" + path.name() + "-" + nodeName);
        this.receiver.setDaemon(true);
        this.receiver.start();
    }

    /**
     * The address heartbeats are received on.
     *
     * @return the bound address
     * @throws IOException if the channel is closed
     */
    public InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    /**
     * Sends a message to the peer's address on this network.
     *
     * @param message a heartbeat or reboot request
     * @return false if the send failed (the network is down, no route)
     */
    public boolean send(Message message) {
        ByteBuf payload = Messages.encode(message, ByteBufAllocator.DEFAULT);
        ByteBuf frame = Unpooled.buffer(FrameFormat.HEADER_BYTES + payload.readableBytes()
                + PairingKey.DATAGRAM_MAC_BYTES);
        try {
            FrameFormat.write(frame, message.type(), payload);
            byte[] bytes = new byte[frame.readableBytes() + PairingKey.DATAGRAM_MAC_BYTES];
            frame.readBytes(bytes, 0, frame.readableBytes());
            int bodyLength = bytes.length - PairingKey.DATAGRAM_MAC_BYTES;
            System.arraycopy(key.datagramMac(bytes, 0, bodyLength), 0, bytes, bodyLength,
                    PairingKey.DATAGRAM_MAC_BYTES);
            channel.send(ByteBuffer.wrap(bytes), peer);
            lastSendError = null;
            return true;
        } catch (IOException e) {
            String error = e.getMessage();
            if (!Objects.equals(error, lastSendError)) {
                LOG.log(Level.WARNING, "public network {0}: cannot send to {1}: {2}", path.name(), peer, error);
            }
            lastSendError = error;
            return false;
        } finally {
            payload.release();
            frame.release();
        }
    }

    /**
     * Why the last send failed, if it did.
     *
     * @return the error, or null after a successful send
     */
    public String lastSendError() {
        return lastSendError;
    }

    private void receiveLoop() {
        ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM + 1);
        while (!closed) {
            buffer.clear();
            try {
                channel.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, "public network {0}: receive failed: {1}", path.name(), e.getMessage());
                }
                continue;
            }
            buffer.flip();
            Message message = accept(buffer);
            if (message != null) {
                try {
                    listener.accept(path.name(), message);
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "public network " + path.name() + ": listener failed", e);
                }
            }
        }
    }

    private Message accept(ByteBuffer datagram) {
        int length = datagram.remaining();
        if (length > MAX_DATAGRAM || length < FrameFormat.HEADER_BYTES + PairingKey.DATAGRAM_MAC_BYTES) {
            return reject("datagram of " + length + " bytes");
        }
        byte[] bytes = new byte[length];
        datagram.get(bytes);
        int bodyLength = length - PairingKey.DATAGRAM_MAC_BYTES;
        byte[] mac = Arrays.copyOfRange(bytes, bodyLength, length);
        if (!key.verifyDatagram(bytes, 0, bodyLength, mac)) {
            return reject("bad MAC (wrong pairing secret, or not ours)");
        }
        ByteBuf body = Unpooled.wrappedBuffer(bytes, 0, bodyLength);
        try {
            Frame frame = FrameDecoder.decode(body, FrameType.HEARTBEAT.maxPayloadBytes());
            if (frame == null || body.isReadable()) {
                if (frame != null) {
                    frame.release();
                }
                return reject("datagram is not exactly one frame");
            }
            try {
                if (frame.type() != FrameType.HEARTBEAT && frame.type() != FrameType.REBOOT_REQUEST) {
                    return reject(frame.type() + " is not accepted on a public network");
                }
                return Messages.decode(frame);
            } finally {
                frame.release();
            }
        } catch (ProtocolException e) {
            return reject(e.getMessage());
        } finally {
            body.release();
        }
    }

    private Message reject(String why) {
        rejected++;
        long minute = clock.nanoTime() / 60_000_000_000L;
        if (minute != lastRejectLogMinute) {
            lastRejectLogMinute = minute;
            LOG.log(Level.WARNING, "public network {0}: dropped a datagram ({1}); {2} dropped so far", path.name(), why,
                    rejected);
        }
        return null;
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing public network channel", e);
        }
        receiver.interrupt();
    }
}
