package io.avance.core.link;

import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameDecoder;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.Set;

/**
 * Authenticated single-datagram messages: {@code frame || HMAC-SHA256(datagram key, frame)[0..16)}.
 * Used by the public-network heartbeats and by the quorum witness.
 */
public final class Datagrams {

    /** The largest datagram: the largest frame a datagram may carry, plus its MAC. */
    public static final int MAX_BYTES = FrameFormat.HEADER_BYTES + FrameType.HEARTBEAT.maxPayloadBytes()
            + PairingKey.DATAGRAM_MAC_BYTES;

    private Datagrams() {
    }

    /**
     * Seals a message into a datagram.
     *
     * @param message the message
     * @param key     the pairing key
     * @return the datagram's bytes
     */
    public static byte[] seal(Message message, PairingKey key) {
        ByteBuf payload = Unpooled.buffer(128);
        ByteBuf frame = Unpooled.buffer(FrameFormat.HEADER_BYTES + 128);
        try {
            Messages.encode(message, payload);
            FrameFormat.write(frame, message.type(), payload);
            int length = frame.readableBytes();
            byte[] bytes = new byte[length + PairingKey.DATAGRAM_MAC_BYTES];
            frame.readBytes(bytes, 0, length);
            System.arraycopy(key.datagramMac(bytes, 0, length), 0, bytes, length, PairingKey.DATAGRAM_MAC_BYTES);
            return bytes;
        } finally {
            payload.release();
            frame.release();
        }
    }

    /**
     * Opens a datagram: checks its size, its MAC, that it is exactly one valid frame of an accepted
     * type, and decodes the message.
     *
     * @param bytes    the datagram
     * @param length   how many of the bytes it holds
     * @param key      the pairing key
     * @param accepted the frame types accepted
     * @return the message
     * @throws ProtocolException saying why the datagram was refused
     */
    public static Message open(byte[] bytes, int length, PairingKey key, Set<FrameType> accepted) {
        if (length > MAX_BYTES || length < FrameFormat.HEADER_BYTES + PairingKey.DATAGRAM_MAC_BYTES) {
            throw new ProtocolException("datagram of " + length + " bytes");
        }
        int bodyLength = length - PairingKey.DATAGRAM_MAC_BYTES;
        if (!key.verifyDatagram(bytes, 0, bodyLength, Arrays.copyOfRange(bytes, bodyLength, length))) {
            throw new ProtocolException("bad MAC (wrong pairing secret, or not ours)");
        }
        ByteBuf body = Unpooled.wrappedBuffer(bytes, 0, bodyLength);
        Frame frame = null;
        try {
            frame = FrameDecoder.decode(body, FrameType.HEARTBEAT.maxPayloadBytes());
            if (frame == null || body.isReadable()) {
                throw new ProtocolException("datagram is not exactly one frame");
            }
            if (!accepted.contains(frame.type())) {
                throw new ProtocolException(frame.type() + " is not accepted here");
            }
            return Messages.decode(frame);
        } finally {
            if (frame != null) {
                frame.release();
            }
            body.release();
        }
    }
}
