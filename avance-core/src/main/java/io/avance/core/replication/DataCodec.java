package io.avance.core.replication;

import io.avance.core.storage.Generation;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds and reads data-channel frames. Payloads that carry volume data are sent without copying:
 * a frame is a composite of the header, the fixed fields and the caller's data buffer.
 *
 * <p>Buffer ownership: {@code frame(...)} methods take ownership of the data buffer they are given
 * (it becomes part of the frame, which the channel releases after writing). Readers return slices
 * that share the frame's payload: retain them to keep them past the frame.
 */
final class DataCodec {

    private DataCodec() {
    }

    /** Flags of a WRITE or ZEROES. */
    static final int FUA = 1;
    static final int TRIM = 2;

    /** A frame: see {@link FrameFormat#compose}; takes ownership of both buffers. */
    static ByteBuf frame(ByteBufAllocator allocator, FrameType type, ByteBuf fields, ByteBuf data) {
        return FrameFormat.compose(allocator, type, fields, data);
    }

    static ByteBuf fields(ByteBufAllocator allocator) {
        return allocator.buffer(64);
    }

    static void writeName(ByteBuf out, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        out.writeByte(bytes.length).writeBytes(bytes);
    }

    static String readName(ByteBuf in) {
        need(in, 1, "name length");
        int length = in.readUnsignedByte();
        need(in, length, "name");
        String name = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return name;
    }

    static void writeGeneration(ByteBuf out, Generation generation) {
        out.writeLong(generation.current()).writeLong(generation.bitmap()).writeByte(generation.history().size());
        for (long id : generation.history()) {
            out.writeLong(id);
        }
    }

    static Generation readGeneration(ByteBuf in) {
        need(in, 17, "generation");
        long current = in.readLong();
        long bitmap = in.readLong();
        int count = in.readUnsignedByte();
        if (count > Generation.HISTORY) {
            throw new ProtocolException("generation history of " + count + " exceeds " + Generation.HISTORY);
        }
        need(in, 8 * count, "generation history");
        List<Long> history = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            history.add(in.readLong());
        }
        return new Generation(current, bitmap, history);
    }

    static void need(ByteBuf in, int bytes, String field) {
        if (in.readableBytes() < bytes) {
            throw new ProtocolException("data frame truncated at " + field);
        }
    }
}
