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

    /** MIGRATE_BEGIN's kind: the engine's own pre-copy of guest pages. */
    static final int KIND_PRE_COPY = 0;
    /** MIGRATE_BEGIN's kind: the hypervisor's native stream, carried in MIGRATE_STREAM frames. */
    static final int KIND_NATIVE = 1;
    /** The stream bytes a sender gathers into one MIGRATE_STREAM frame at most. */
    static final int MAX_STREAM_CHUNK = 256 << 10;

    private MigrationCodec() {
    }

    /** Peeks at a MIGRATE_BEGIN's kind (after the id, the memory size and the page size). */
    static boolean isNative(ByteBuf begin) {
        need(begin, 13, "kind");
        return begin.getUnsignedByte(begin.readerIndex() + 12) == KIND_NATIVE;
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
