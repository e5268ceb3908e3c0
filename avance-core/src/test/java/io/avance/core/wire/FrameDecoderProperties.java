package io.avance.core.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes the frame decoder: whatever bytes arrive, it answers with frames, "need more", or a
 * ProtocolException; never another exception, never a frame the sender did not send.
 */
class FrameDecoderProperties {

    @Property(tries = 2000)
    void arbitraryBytesAreRejectedCleanlyOrNeedMore(@ForAll @Size(max = 200) byte[] bytes) {
        ByteBuf in = Unpooled.wrappedBuffer(bytes);
        try {
            Frame frame = FrameDecoder.decode(in, 1 << 20);
            if (frame != null) {
                frame.release();
            }
        } catch (ProtocolException expected) {
            assertFalse(expected.getMessage().isBlank());
        } finally {
            in.release();
        }
    }

    @Property(tries = 2000)
    void garbageWithAValidMagicIsStillRejectedCleanly(@ForAll @Size(min = 12, max = 200) byte[] bytes) {
        ByteBuf in = Unpooled.buffer();
        in.writeInt(FrameFormat.MAGIC);
        in.writeBytes(bytes);
        try {
            Frame frame = FrameDecoder.decode(in, 1 << 20);
            if (frame != null) {
                frame.release();
                throw new AssertionError("random bytes passed the checksum");
            }
        } catch (ProtocolException expected) {
            assertFalse(expected.getMessage().isBlank());
        } finally {
            in.release();
        }
    }

    @Property(tries = 1000)
    void aValidFrameSurvivesAnySplitOfTheStream(@ForAll @Size(max = 2000) byte[] payload,
                                                @ForAll @IntRange(min = 1, max = 64) int chunk) {
        ByteBuf whole = Unpooled.buffer();
        FrameFormat.write(whole, FrameType.HEARTBEAT, Unpooled.wrappedBuffer(payload));
        ByteBuf stream = Unpooled.buffer();
        Frame decoded = null;
        try {
            while (decoded == null && whole.isReadable()) {
                stream.writeBytes(whole, Math.min(chunk, whole.readableBytes()));
                decoded = FrameDecoder.decode(stream, 1 << 20);
            }
            assertNotNull(decoded);
            byte[] received = new byte[decoded.payload().readableBytes()];
            decoded.payload().readBytes(received);
            assertArrayEquals(payload, received);
        } finally {
            if (decoded != null) {
                decoded.release();
            }
            whole.release();
            stream.release();
        }
    }
}
