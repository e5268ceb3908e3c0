package io.avance.core.link;

import io.avance.core.config.PublicPath;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.ProtocolException;
import io.avance.core.time.NanoClock;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
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
    private static final Set<FrameType> ACCEPTED = EnumSet.of(FrameType.HEARTBEAT, FrameType.REBOOT_REQUEST);

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
        try {
            channel.send(ByteBuffer.wrap(Datagrams.seal(message, key)), peer);
            lastSendError = null;
            return true;
        } catch (IOException e) {
            String error = e.getMessage();
            if (!Objects.equals(error, lastSendError)) {
                LOG.log(Level.WARNING, "public network {0}: cannot send to {1}: {2}", path.name(), peer, error);
            }
            lastSendError = error;
            return false;
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
        ByteBuffer buffer = ByteBuffer.allocate(Datagrams.MAX_BYTES + 1);
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
        byte[] bytes = new byte[datagram.remaining()];
        datagram.get(bytes);
        try {
            return Datagrams.open(bytes, bytes.length, key, ACCEPTED);
        } catch (ProtocolException e) {
            return reject(e.getMessage());
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
