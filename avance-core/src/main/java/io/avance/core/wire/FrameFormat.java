package io.avance.core.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.util.zip.CRC32C;

/**
 * The frame header and its checksum.
 *
 * <pre>
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +---------------------------------------------------------------+
 * |                   magic 0x41564E43 ("AVNC")                   |
 * +---------------+---------------+-------------------------------+
 * |  version (1)  |     type      |          flags (0)            |
 * +---------------+---------------+-------------------------------+
 * |                  payload length (bytes)                       |
 * +---------------------------------------------------------------+
 * |           CRC32C over header bytes 0-11, then the payload     |
 * +---------------------------------------------------------------+
 * |                     payload ...                               |
 * </pre>
 * All integers are big-endian.
 */
public final class FrameFormat {

    /** "AVNC". */
    public static final int MAGIC = 0x41564E43;
    /** The only frame format version this build speaks. */
    public static final int VERSION = 1;
    /** Bytes in a frame header. */
    public static final int HEADER_BYTES = 16;

    private FrameFormat() {
    }

    /**
     * Writes a complete frame.
     *
     * @param out     where the frame goes
     * @param type    its type
     * @param payload its payload; read from reader index to writer index, not consumed
     * @throws IllegalArgumentException if the payload exceeds the type's bound
     */
    public static void write(ByteBuf out, FrameType type, ByteBuf payload) {
        int length = payload.readableBytes();
        if (length > type.maxPayloadBytes()) {
            throw new IllegalArgumentException(type + " payload of " + length + " bytes exceeds its bound of "
                    + type.maxPayloadBytes());
        }
        int start = out.writerIndex();
        out.writeInt(MAGIC);
        out.writeByte(VERSION);
        out.writeByte(type.code());
        out.writeShort(0);
        out.writeInt(length);
        CRC32C crc = new CRC32C();
        crc.update(out.nioBuffer(start, 12));
        if (length > 0) {
            for (java.nio.ByteBuffer chunk : payload.nioBuffers(payload.readerIndex(), length)) {
                crc.update(chunk);
            }
        }
        out.writeInt((int) crc.getValue());
        out.writeBytes(payload, payload.readerIndex(), length);
    }

    /**
     * Builds a frame without copying its data: a composite of the 16-byte header (with the CRC over
     * header and payload), the fixed fields, then the data. Takes ownership of {@code fields} and
     * {@code data} (they become part of the frame, which the channel releases after writing).
     *
     * @param allocator for the header and the composite
     * @param type      the frame's type
     * @param fields    the fixed fields, read from reader to writer index
     * @param data      bulk data after the fields, or null
     * @return the frame
     * @throws IllegalArgumentException if the payload exceeds the type's bound (both buffers are
     *                                  released first)
     */
    public static ByteBuf compose(ByteBufAllocator allocator, FrameType type, ByteBuf fields, ByteBuf data) {
        int length = fields.readableBytes() + (data == null ? 0 : data.readableBytes());
        if (length > type.maxPayloadBytes()) {
            fields.release();
            if (data != null) {
                data.release();
            }
            throw new IllegalArgumentException(type + " payload of " + length + " bytes exceeds " + type.maxPayloadBytes());
        }
        ByteBuf header = allocator.buffer(HEADER_BYTES);
        header.writeInt(MAGIC).writeByte(VERSION).writeByte(type.code()).writeShort(0).writeInt(length);
        CRC32C crc = new CRC32C();
        crc.update(header.nioBuffer(0, 12));
        update(crc, fields);
        if (data != null) {
            update(crc, data);
        }
        header.writeInt((int) crc.getValue());
        CompositeByteBuf frame = allocator.compositeBuffer(3);
        frame.addComponent(true, header).addComponent(true, fields);
        if (data != null) {
            frame.addComponent(true, data);
        }
        return frame;
    }

    private static void update(CRC32C crc, ByteBuf buffer) {
        if (buffer.readableBytes() == 0) {
            return;
        }
        for (java.nio.ByteBuffer chunk : buffer.nioBuffers(buffer.readerIndex(), buffer.readableBytes())) {
            crc.update(chunk);
        }
    }

    /**
     * Computes the checksum of a frame in a buffer.
     *
     * @param in           the buffer
     * @param headerStart  index of the frame's first byte
     * @param payloadLength the payload's length; the payload follows the header
     * @return the CRC32C as written in the header
     */
    static int checksum(ByteBuf in, int headerStart, int payloadLength) {
        CRC32C crc = new CRC32C();
        crc.update(in.nioBuffer(headerStart, 12));
        if (payloadLength > 0) {
            for (java.nio.ByteBuffer chunk : in.nioBuffers(headerStart + HEADER_BYTES, payloadLength)) {
                crc.update(chunk);
            }
        }
        return (int) crc.getValue();
    }
}
