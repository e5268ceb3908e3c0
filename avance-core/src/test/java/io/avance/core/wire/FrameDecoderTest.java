package io.avance.core.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

    private static final int MAX = 1 << 20;

    private static ByteBuf frame(FrameType type, byte[] payload) {
        ByteBuf out = Unpooled.buffer();
        FrameFormat.write(out, type, Unpooled.wrappedBuffer(payload));
        return out;
    }

    @Test
    void decodesAFrameAndLeavesTheRestOfTheStream() {
        ByteBuf stream = frame(FrameType.REBOOT_REQUEST, "hello".getBytes(StandardCharsets.UTF_8));
        stream.writeBytes(frame(FrameType.READY, new byte[] {0, 1}));
        Frame first = FrameDecoder.decode(stream, MAX);
        Frame second = FrameDecoder.decode(stream, MAX);
        try {
            assertEquals(FrameType.REBOOT_REQUEST, first.type());
            assertEquals("hello", first.payload().toString(StandardCharsets.UTF_8));
            assertEquals(FrameType.READY, second.type());
            assertEquals(0, stream.readableBytes());
            assertNull(FrameDecoder.decode(stream, MAX));
        } finally {
            first.release();
            second.release();
            stream.release();
        }
    }

    @Test
    void waitsForTheWholeFrameWhenBytesTrickleIn() {
        ByteBuf whole = frame(FrameType.HEARTBEAT, new byte[300]);
        ByteBuf stream = Unpooled.buffer();
        Frame decoded = null;
        int fed = 0;
        while (decoded == null) {
            stream.writeByte(whole.getByte(fed++));
            decoded = FrameDecoder.decode(stream, MAX);
            if (decoded == null) {
                assertTrue(fed < whole.readableBytes(), "complete frame not decoded");
            }
        }
        assertEquals(whole.readableBytes(), fed);
        assertEquals(300, decoded.payload().readableBytes());
        decoded.release();
        stream.release();
        whole.release();
    }

    @Test
    void refusesGarbageAsSoonAsTheMagicIsWrong() {
        ByteBuf garbage = Unpooled.wrappedBuffer("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        ProtocolException e = assertThrows(ProtocolException.class, () -> FrameDecoder.decode(garbage, MAX));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
        ByteBuf fourBytes = Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4});
        assertThrows(ProtocolException.class, () -> FrameDecoder.decode(fourBytes, MAX));
    }

    @Test
    void refusesAnUnknownVersionTypeOrFlag() {
        ByteBuf version = frame(FrameType.READY, new byte[2]);
        version.setByte(4, 2);
        assertTrue(assertThrows(ProtocolException.class, () -> FrameDecoder.decode(version, MAX))
                .getMessage().contains("version 2"));
        ByteBuf type = frame(FrameType.READY, new byte[2]);
        type.setByte(5, 0x7E);
        assertTrue(assertThrows(ProtocolException.class, () -> FrameDecoder.decode(type, MAX))
                .getMessage().contains("unknown frame type 0x7e"));
        ByteBuf flags = frame(FrameType.READY, new byte[2]);
        flags.setShort(6, 1);
        assertTrue(assertThrows(ProtocolException.class, () -> FrameDecoder.decode(flags, MAX))
                .getMessage().contains("unknown flags"));
    }

    @Test
    void refusesALengthAboveTheTypesBoundBeforeReadingThePayload() {
        ByteBuf header = frame(FrameType.AUTH, new byte[32]);
        header.setInt(8, 33);
        ProtocolException e = assertThrows(ProtocolException.class, () -> FrameDecoder.decode(header, MAX));
        assertTrue(e.getMessage().contains("exceeds its bound of 32"), e.getMessage());
        ByteBuf huge = frame(FrameType.HEARTBEAT, new byte[10]);
        huge.setInt(8, 0x7FFFFFFF);
        assertThrows(ProtocolException.class, () -> FrameDecoder.decode(huge, MAX));
    }

    @Test
    void detectsAnyCorruptedByte() {
        ByteBuf original = frame(FrameType.REBOOT_REQUEST, "some payload bytes".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < original.readableBytes(); i++) {
            ByteBuf copy = original.copy();
            copy.setByte(i, copy.getByte(i) ^ 0x01);
            Frame decoded = null;
            try {
                decoded = FrameDecoder.decode(copy, MAX);
                // A flip in the length field may make the frame look incomplete; nothing is accepted.
                assertNull(decoded, "corrupted byte " + i + " was accepted");
            } catch (ProtocolException expected) {
                assertNotNull(expected.getMessage());
            } finally {
                if (decoded != null) {
                    decoded.release();
                }
                copy.release();
            }
        }
        original.release();
    }
}
