package io.avance.core.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a byte stream into {@link Frame}s, checking everything the header promises before the
 * payload is trusted.
 *
 * <p>Throws {@link ProtocolException} (which the pipeline turns into a closed connection and one
 * log line) for a wrong magic, an unknown version, type or flag, a length above the type's bound
 * or the link's maximum, or a checksum mismatch. Emits frames whose payload is a retained slice
 * that the next handler must release.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

    private final int maxPayloadBytes;

    /**
     * Creates a decoder.
     *
     * @param maxPayloadBytes the link's largest payload, whatever the type allows
     */
    public FrameDecoder(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) {
        Frame frame = decode(in, maxPayloadBytes);
        if (frame != null) {
            out.add(frame);
        }
    }

    /**
     * Decodes one frame from the start of a buffer, if it is all there.
     *
     * @param in              the bytes; the reader index advances past a decoded frame
     * @param maxPayloadBytes the largest payload accepted
     * @return the frame (owning a retained slice of {@code in}), or null if more bytes are needed
     * @throws ProtocolException if the bytes are not a valid frame
     */
    public static Frame decode(ByteBuf in, int maxPayloadBytes) {
        if (in.readableBytes() < FrameFormat.HEADER_BYTES) {
            // Check the magic as soon as it is there, so garbage is refused without waiting for more.
            if (in.readableBytes() >= 4 && in.getInt(in.readerIndex()) != FrameFormat.MAGIC) {
                throw new ProtocolException(String.format("bad magic 0x%08x (expected 0x%08x)",
                        in.getInt(in.readerIndex()), FrameFormat.MAGIC));
            }
            return null;
        }
        int start = in.readerIndex();
        int magic = in.getInt(start);
        if (magic != FrameFormat.MAGIC) {
            throw new ProtocolException(String.format("bad magic 0x%08x (expected 0x%08x)", magic, FrameFormat.MAGIC));
        }
        int version = in.getUnsignedByte(start + 4);
        if (version != FrameFormat.VERSION) {
            throw new ProtocolException("unsupported frame version " + version + " (this node speaks "
                    + FrameFormat.VERSION + ")");
        }
        int code = in.getUnsignedByte(start + 5);
        FrameType type = FrameType.fromCode(code);
        if (type == null) {
            throw new ProtocolException(String.format("unknown frame type 0x%02x", code));
        }
        int flags = in.getUnsignedShort(start + 6);
        if (flags != 0) {
            throw new ProtocolException(String.format("unknown flags 0x%04x on %s", flags, type));
        }
        long length = in.getUnsignedInt(start + 8);
        long bound = Math.min(type.maxPayloadBytes(), maxPayloadBytes);
        if (length > bound) {
            throw new ProtocolException(type + " payload length " + length + " exceeds its bound of " + bound);
        }
        if (in.readableBytes() < FrameFormat.HEADER_BYTES + length) {
            return null;
        }
        int expected = in.getInt(start + 12);
        int actual = FrameFormat.checksum(in, start, (int) length);
        if (expected != actual) {
            throw new ProtocolException(String.format("%s checksum mismatch: header says 0x%08x, bytes give 0x%08x",
                    type, expected, actual));
        }
        in.skipBytes(FrameFormat.HEADER_BYTES);
        ByteBuf payload = in.readRetainedSlice((int) length);
        return new Frame(type, payload);
    }
}
