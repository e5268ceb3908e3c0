package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import io.avance.xen.libxl.LibC;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The framing between libxl's pipe and the engine's channel, over real pipes. */
class MigrationStreamTest {

    private static final LibC C = LibC.INSTANCE;

    private static int[] pipe() {
        int[] fds = new int[2];
        assertEquals(0, C.pipe2(fds, LibC.O_CLOEXEC));
        return fds;
    }

    private static void writeAll(int fd, byte[] data) {
        Memory memory = new Memory(data.length);
        memory.write(0, data, 0, data.length);
        long offset = 0;
        while (offset < data.length) {
            long n = C.write(fd, memory.share(offset), new NativeLong(data.length - offset)).longValue();
            assertTrue(n > 0);
            offset += n;
        }
    }

    private static byte[] readAll(int fd) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Memory buffer = new Memory(65536);
        while (true) {
            long n = C.read(fd, buffer, new NativeLong(buffer.size())).longValue();
            if (n <= 0) {
                return out.toByteArray();
            }
            out.write(buffer.getByteArray(0, (int) n), 0, (int) n);
        }
    }

    @Test
    void carriesAStreamBothWaysAndStopsAtItsEnd() throws Exception {
        byte[] body = new byte[3_000_000 + 17];
        new Random(5).nextBytes(body);
        byte[] data = LibxlStreams.begin().record(5, body).end();
        int[] source = pipe();
        C.fcntl(source[0], LibC.F_SETFL, C.fcntl(source[0], LibC.F_GETFL, 0) | LibC.O_NONBLOCK);
        AtomicBoolean done = new AtomicBoolean();
        // The "libxl" side writes everything, then says it is done; the write end stays open,
        // as when another helper process inherited it, so EOF never comes.
        CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
            writeAll(source[1], data);
            done.set(true);
        });
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        long sent = MigrationStream.pumpToChannel(C, source[0], Channels.newChannel(wire), done::get);
        producer.get(10, TimeUnit.SECONDS);
        C.close(source[1]);
        MigrationStream.writeEnd(Channels.newChannel(wire), true);
        assertEquals(data.length, sent);
        // What follows the end marker belongs to the engine's handshake, not to libxl.
        wire.write("handshake".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

        int[] target = pipe();
        CompletableFuture<byte[]> consumer = CompletableFuture.supplyAsync(() -> readAll(target[0]));
        ByteArrayInputStream in = new ByteArrayInputStream(wire.toByteArray());
        var channel = Channels.newChannel(in);
        LibxlStreamCheck check = new LibxlStreamCheck();
        ByteBuffer prefix = MigrationStream.readPrefix(channel, check);
        long received = MigrationStream.pumpFromChannel(C, channel, target[1], check, prefix);
        assertEquals(data.length, received);
        assertArrayEquals(data, consumer.get(10, TimeUnit.SECONDS));
        C.close(target[0]);
        ByteBuffer rest = ByteBuffer.allocate(32);
        channel.read(rest);
        assertEquals("handshake", new String(rest.array(), 0, rest.position(), java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** A broken channel never turns into EPIPE for libxl: the pipe is drained to the end first. */
    @Test
    void aBrokenChannelDrainsThePipeBeforeFailing() throws Exception {
        byte[] data = new byte[2_000_000];
        int[] source = pipe();
        C.fcntl(source[0], LibC.F_SETFL, C.fcntl(source[0], LibC.F_GETFL, 0) | LibC.O_NONBLOCK);
        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
            writeAll(source[1], data);
            done.set(true);
        });
        java.nio.channels.WritableByteChannel broken = new java.nio.channels.WritableByteChannel() {
            private long written;

            @Override
            public int write(ByteBuffer buffer) throws IOException {
                if (written > 100_000) {
                    throw new IOException("connection reset");
                }
                int n = buffer.remaining();
                buffer.position(buffer.limit());
                written += n;
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        IOException e = assertThrows(IOException.class,
                () -> MigrationStream.pumpToChannel(C, source[0], broken, done::get));
        assertEquals("connection reset", e.getMessage());
        // Every write of the producer succeeded: it was never cut off.
        producer.get(10, TimeUnit.SECONDS);
        assertTrue(done.get());
        C.close(source[1]);
    }

    /** Refused before libxl is called: nothing reached the pipe, and libxl was never started. */
    @Test
    void refusesAStreamThatFailsBeforeLibxlsHeaderAndFirstRecord() {
        byte[] start = LibxlStreams.begin().bytes();
        assertRefusedEarly(new byte[] {0, 0, 0, 0}, "ended after 0 bytes");
        assertRefusedEarly(new byte[] {-1, -1, -1, -1}, "aborted");
        assertRefusedEarly(new byte[0], "ended before its end marker");
        assertRefusedEarly(concat(frame(Arrays.copyOf(start, 20)), new byte[] {0, 0, 0, 0}), "ended after 20 bytes");
        byte[] foreign = start.clone();
        foreign[0] = 'X';
        assertRefusedEarly(frame(foreign), "not a libxl migration stream");
        assertRefusedEarly(new byte[] {0x7f, 0, 0, 0}, "frame length");
    }

    @Test
    void refusesAnAbortedATruncatedOrAMalformedStreamAfterItsStart() {
        byte[] start = LibxlStreams.begin().bytes();
        assertFails(concat(frame(start), new byte[] {-1, -1, -1, -1}), "aborted");
        assertFails(concat(frame(start), new byte[] {0, 0, 0, 0}), "in LIBXC_RECORD_HEADER of libxl's stream");
        assertFails(concat(frame(start), new byte[] {0, 0, 0, 3, 1, 2}), "ended before its end marker");
        assertFails(concat(frame(start), new byte[] {-1, -1, -1, -2}), "frame length");
        byte[] whole = LibxlStreams.begin().end();
        assertFails(concat(frame(whole), frame(new byte[8]), new byte[] {0, 0, 0, 0}), "after the stream's END");
    }

    private static byte[] frame(byte[] payload) {
        return ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part, 0, part.length);
        }
        return out.toByteArray();
    }

    private static void assertRefusedEarly(byte[] wire, String why) {
        IOException e = assertThrows(IOException.class, () -> MigrationStream.readPrefix(
                Channels.newChannel(new ByteArrayInputStream(wire)), new LibxlStreamCheck()));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    private static void assertFails(byte[] wire, String why) {
        int[] target = pipe();
        CompletableFuture<byte[]> consumer = CompletableFuture.supplyAsync(() -> readAll(target[0]));
        var channel = Channels.newChannel(new ByteArrayInputStream(wire));
        LibxlStreamCheck check = new LibxlStreamCheck();
        IOException e = assertThrows(IOException.class, () -> MigrationStream.pumpFromChannel(C, channel, target[1],
                check, MigrationStream.readPrefix(channel, check)));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        // The pipe was closed, so the reader (libxl) sees EOF rather than waiting for ever.
        consumer.join();
        C.close(target[0]);
    }
}
