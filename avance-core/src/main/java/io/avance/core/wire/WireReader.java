package io.avance.core.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Bounded reads from a payload: every read checks that the bytes are there and every length
 * against its limit, and fails with a {@link ProtocolException} naming the field.
 */
final class WireReader {

    private final ByteBuf in;
    private final String message;

    WireReader(ByteBuf in, String message) {
        this.in = in;
        this.message = message;
    }

    private void need(int bytes, String field) {
        if (in.readableBytes() < bytes) {
            throw new ProtocolException(message + ": truncated at " + field + " (needs " + bytes + " bytes, "
                    + in.readableBytes() + " left)");
        }
    }

    int u8(String field) {
        need(1, field);
        return in.readUnsignedByte();
    }

    int u16(String field) {
        need(2, field);
        return in.readUnsignedShort();
    }

    long u64(String field) {
        need(8, field);
        return in.readLong();
    }

    boolean bool(String field) {
        int value = u8(field);
        if (value > 1) {
            throw new ProtocolException(message + ": " + field + " must be 0 or 1, was " + value);
        }
        return value == 1;
    }

    byte[] bytes(int length, String field) {
        need(length, field);
        byte[] bytes = new byte[length];
        in.readBytes(bytes);
        return bytes;
    }

    /** A string with a one-byte length prefix. */
    String str8(String field) {
        int length = u8(field);
        return utf8(length, field);
    }

    /** A string with a two-byte length prefix, at most {@code maxBytes}. */
    String str16(String field, int maxBytes) {
        int length = u16(field);
        if (length > maxBytes) {
            throw new ProtocolException(message + ": " + field + " of " + length + " bytes exceeds " + maxBytes);
        }
        return utf8(length, field);
    }

    private String utf8(int length, String field) {
        need(length, field);
        String text = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return text;
    }

    <E extends Enum<E>> E enumeration(Class<E> type, String field) {
        int ordinal = u8(field);
        E[] values = type.getEnumConstants();
        if (ordinal >= values.length) {
            throw new ProtocolException(message + ": unknown " + field + " " + ordinal);
        }
        return values[ordinal];
    }

    void end() {
        if (in.isReadable()) {
            throw new ProtocolException(message + ": " + in.readableBytes() + " unexpected trailing bytes");
        }
    }
}
