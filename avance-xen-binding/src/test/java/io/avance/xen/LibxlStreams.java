package io.avance.xen;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds libxl migration streams (format v2) as {@code libxl_domain_suspend} writes them, for
 * tests of the code that carries and checks them: the libxl header, LIBXC_CONTEXT, the libxc
 * image and domain headers, libxc records, libxc END, libxl records, libxl END.
 */
final class LibxlStreams {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private LibxlStreams() {
    }

    /** @return a stream with its headers written, up to the libxc domain header */
    static LibxlStreams begin() {
        LibxlStreams stream = new LibxlStreams();
        ByteBuffer libxl = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
        libxl.putLong(LibxlStreamCheck.LIBXL_IDENT).putInt(LibxlStreamCheck.LIBXL_VERSION).putInt(0);
        stream.put(libxl);
        stream.record(LibxlStreamCheck.REC_LIBXC_CONTEXT, new byte[0]);
        ByteBuffer image = ByteBuffer.allocate(24).order(ByteOrder.BIG_ENDIAN);
        image.putLong(-1L).putInt(LibxlStreamCheck.LIBXC_ID).putInt(3).putShort((short) 0);
        stream.put(image);
        ByteBuffer domain = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        domain.putInt(3).putShort((short) 12).putShort((short) 0).putInt(4).putInt(17);
        stream.put(domain);
        return stream;
    }

    /**
     * Appends a record: type and length (little-endian), the body, padding to 8 bytes.
     *
     * @param type the record type
     * @param body the body
     * @return this
     */
    LibxlStreams record(int type, byte[] body) {
        ByteBuffer header = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(type).putInt(body.length);
        put(header);
        out.write(body, 0, body.length);
        out.write(new byte[(8 - body.length % 8) % 8], 0, (8 - body.length % 8) % 8);
        return this;
    }

    /** @return the whole stream: libxc END, one emulator record, libxl END */
    byte[] end() {
        record(LibxlStreamCheck.REC_END, new byte[0]);
        record(LibxlStreamCheck.REC_EMULATOR_CONTEXT, new byte[40]);
        record(LibxlStreamCheck.REC_END, new byte[0]);
        return out.toByteArray();
    }

    /** @return the bytes so far */
    byte[] bytes() {
        return out.toByteArray();
    }

    private void put(ByteBuffer buffer) {
        out.write(buffer.array(), 0, buffer.capacity());
    }
}
