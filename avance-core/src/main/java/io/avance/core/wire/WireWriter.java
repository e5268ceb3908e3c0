package io.avance.core.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * Writes payload fields, truncating strings to their wire bounds at a character boundary.
 */
final class WireWriter {

    private final ByteBuf out;

    WireWriter(ByteBuf out) {
        this.out = out;
    }

    WireWriter u8(int value) {
        out.writeByte(value);
        return this;
    }

    WireWriter u16(int value) {
        out.writeShort(value);
        return this;
    }

    WireWriter u64(long value) {
        out.writeLong(value);
        return this;
    }

    WireWriter bool(boolean value) {
        out.writeByte(value ? 1 : 0);
        return this;
    }

    WireWriter bytes(byte[] value) {
        out.writeBytes(value);
        return this;
    }

    WireWriter str8(String value) {
        byte[] bytes = truncate(value, 255);
        out.writeByte(bytes.length);
        out.writeBytes(bytes);
        return this;
    }

    WireWriter str16(String value, int maxBytes) {
        byte[] bytes = truncate(value, maxBytes);
        out.writeShort(bytes.length);
        out.writeBytes(bytes);
        return this;
    }

    WireWriter enumeration(Enum<?> value) {
        out.writeByte(value.ordinal());
        return this;
    }

    /** UTF-8 bytes of the longest prefix of {@code value} that fits in {@code maxBytes}. */
    static byte[] truncate(String value, int maxBytes) {
        if (ByteBufUtil.utf8Bytes(value) <= maxBytes) {
            return value.getBytes(StandardCharsets.UTF_8);
        }
        int end = value.length();
        while (end > 0 && ByteBufUtil.utf8Bytes(value.substring(0, end)) > maxBytes) {
            end--;
            if (end > 0 && Character.isLowSurrogate(value.charAt(end))) {
                end--;
            }
        }
        return value.substring(0, end).getBytes(StandardCharsets.UTF_8);
    }
}
