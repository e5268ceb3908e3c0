package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The structural check of libxl's stream, fed as the pump feeds it: in pieces of any size. */
class LibxlStreamCheckTest {

    private static byte[] wellFormed(Random random) {
        LibxlStreams stream = LibxlStreams.begin();
        for (int i = 0; i < 5; i++) {
            byte[] body = new byte[random.nextInt(20_000)];
            random.nextBytes(body);
            stream.record(1 + random.nextInt(20), body);
        }
        return stream.end();
    }

    private static LibxlStreamCheck feed(byte[] stream, Random random) throws Exception {
        LibxlStreamCheck check = new LibxlStreamCheck();
        int at = 0;
        while (at < stream.length) {
            int n = Math.min(stream.length - at, 1 + random.nextInt(random.nextBoolean() ? 7 : 70_000));
            ByteBuffer piece = ByteBuffer.wrap(stream, at, n);
            check.accept(piece);
            assertFalse(piece.hasRemaining());
            at += n;
        }
        return check;
    }

    @Test
    void aWellFormedStreamIsAcceptedInPiecesOfAnySize() throws Exception {
        for (int seed = 0; seed < 50; seed++) {
            Random random = new Random(seed);
            byte[] stream = wellFormed(random);
            LibxlStreamCheck check = feed(stream, random);
            assertTrue(check.complete(), "seed " + seed);
            assertEquals(stream.length, check.offset());
        }
    }

    @Test
    void libxlMayReadOnlyOnceItsHeaderAndFirstRecordArrived() throws Exception {
        byte[] stream = wellFormed(new Random(1));
        LibxlStreamCheck check = new LibxlStreamCheck();
        check.accept(ByteBuffer.wrap(stream, 0, LibxlStreamCheck.LIBXL_PREFIX_BYTES - 1));
        assertFalse(check.libxlMayRead());
        check.accept(ByteBuffer.wrap(stream, LibxlStreamCheck.LIBXL_PREFIX_BYTES - 1, 1));
        assertTrue(check.libxlMayRead());
        assertFalse(check.complete());
    }

    @Test
    void refusesWhatLibxlDidNotWrite() {
        byte[] good = wellFormed(new Random(2));
        assertRefused(corrupt(good, 0, (byte) 'X'), "not a libxl migration stream");
        assertRefused(corrupt(good, 11, (byte) 3), "libxl stream version 3");
        assertRefused(corrupt(good, 16, (byte) 2), "LIBXC_CONTEXT");
        assertRefused(corrupt(good, 32, (byte) 0), "not a libxc image");
        assertRefused(corrupt(good, 48, (byte) 9), "is not x86");
        byte[] after = Arrays.copyOf(good, good.length + 8);
        assertRefused(after, "data after the stream's END record");
        // A libxl record after the libxc section that a plain migration never writes.
        LibxlStreams odd = LibxlStreams.begin();
        odd.record(LibxlStreamCheck.REC_END, new byte[0]);
        odd.record(0x10, new byte[8]);
        assertRefused(odd.bytes(), "after the libxc section");
        LibxlStreams huge = LibxlStreams.begin();
        huge.record(LibxlStreamCheck.REC_END, new byte[0]);
        byte[] bytes = huge.bytes();
        byte[] withHeader = Arrays.copyOf(bytes, bytes.length + 8);
        ByteBuffer.wrap(withHeader, bytes.length, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(LibxlStreamCheck.REC_EMULATOR_CONTEXT).putInt(-1);
        assertRefused(withHeader, "an emulator record of length");
    }

    private static byte[] corrupt(byte[] stream, int at, byte value) {
        byte[] copy = stream.clone();
        copy[at] = value;
        return copy;
    }

    private static void assertRefused(byte[] stream, String why) {
        LibxlStreamCheck check = new LibxlStreamCheck();
        LibxlStreamCheck.MalformedStreamException e = assertThrows(LibxlStreamCheck.MalformedStreamException.class,
                () -> check.accept(ByteBuffer.wrap(stream)));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
