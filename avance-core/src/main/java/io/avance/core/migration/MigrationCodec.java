package io.avance.core.migration;

import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Field helpers for migration-channel payloads (the layouts are in docs/protocol.md). Every payload
 * starts with the u64 migration id, read by the engine before these.
 */
final class MigrationCodec {

    /** The longest reason string. */
    static final int MAX_REASON = 900;
    /** Pages in one MIGRATE_PAGES frame at most: 1 MiB of 4 KiB pages. */
    static final int MAX_PAGES_PER_FRAME = 256;

    private MigrationCodec() {
    }

    static void writeString(ByteBuf out, String text, int maxBytes) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, maxBytes);
        out.writeShort(length).writeBytes(bytes, 0, length);
    }

    static String readString(ByteBuf in, int maxBytes, String field) {
        need(in, 2, field);
        int length = in.readUnsignedShort();
        if (length > maxBytes) {
            throw new ProtocolException(field + " of " + length + " bytes exceeds " + maxBytes);
        }
        need(in, length, field);
        String text = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return text;
    }

    static String readReason(ByteBuf in) {
        return readString(in, MAX_REASON, "reason");
    }

    static void need(ByteBuf in, long bytes, String field) {
        if (in.readableBytes() < bytes) {
            throw new ProtocolException("migration frame truncated at " + field);
        }
    }
}
