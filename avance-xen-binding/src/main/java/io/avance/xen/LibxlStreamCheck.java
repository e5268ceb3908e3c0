package io.avance.xen;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Checks the structure of an incoming libxl migration stream (format v2, as
 * {@code libxl_domain_suspend} writes it) as its bytes pass, before they reach libxl: the
 * receiving pump hands libxl only bytes this check has accepted, and calls libxl at all only
 * once {@link #libxlMayRead()}.
 *
 * <p>Why: libxl 4.17 crashes the process on some malformed streams instead of failing. Its
 * stream reader starts {@code libxl-save-helper} only when it reaches the stream's first
 * record (LIBXC_CONTEXT); any failure before that (EOF, a short or wrong header, a read
 * error) tears the stream down through {@code libxl__save_helper_abort} on a helper that never
 * ran, and {@code helper_done} calls its completion callback, which is still NULL (SIGSEGV at
 * pc 0, return address {@code libxenlight.so.4.17+0x57e00}). The sending side has the same
 * weakness (seen once in this project's Xen stage; {@link MigrationStream} keeps libxl's writes
 * from failing). Once the helper has run, libxl fails cleanly; but it then reads the records after the libxc
 * section itself, and allocates a record's body at the length the record states, and libxl
 * exits the process when an allocation fails. So the check covers:
 *
 * <ul>
 *   <li>the libxl header and the LIBXC_CONTEXT record, exactly as libxl writes them: until
 *       both are here and right, libxl is not called;</li>
 *   <li>the libxc section only as far as needed to find its end (image and domain headers,
 *       then type-length records up to END); its contents are the helper's to check, in its
 *       own process;</li>
 *   <li>the libxl records after it: only the emulator records (bounded) and END, then
 *       nothing.</li>
 * </ul>
 *
 * <pre>
 *   LIBXL_HEADER (16) --&gt; LIBXC_CONTEXT (8) --&gt; LIBXC_IMAGE_HEADER (24) --&gt; LIBXC_DOMAIN_HEADER (16)
 *        libxl may read from here on ---'                                          |
 *                                                                                  v
 *        LIBXC_RECORD_BODY &lt;--type != END-- LIBXC_RECORD_HEADER (8) &lt;---------------'
 *              '-------------------------------------^   | END
 *                                                        v
 *        LIBXL_RECORD_BODY &lt;--emulator record-- LIBXL_RECORD_HEADER (8) --END--&gt; COMPLETE
 *              '-------------------------------------^
 * </pre>
 *
 * <p>Layouts (libxl's {@code libxl_sr_stream_format.h}, libxc's migration stream spec): the
 * two headers' integers are big-endian; domain header and records are little-endian (this
 * binding runs on x86_64 only, and refuses a stream that says otherwise); record bodies are
 * padded to 8 bytes.
 *
 * <p>Not thread-safe: one pump owns it.
 */
final class LibxlStreamCheck {

    /** "LibxlFmt". */
    static final long LIBXL_IDENT = 0x4c6962786c466d74L;
    static final int LIBXL_VERSION = 2;
    static final int LIBXL_HEADER_BYTES = 16;
    static final int RECORD_HEADER_BYTES = 8;
    /** The header and the LIBXC_CONTEXT record: what libxl reads before its helper runs. */
    static final int LIBXL_PREFIX_BYTES = LIBXL_HEADER_BYTES + RECORD_HEADER_BYTES;
    static final int REC_END = 0;
    static final int REC_LIBXC_CONTEXT = 1;
    static final int REC_EMULATOR_XENSTORE_DATA = 2;
    static final int REC_EMULATOR_CONTEXT = 3;
    /** "XENF". */
    static final int LIBXC_ID = 0x58454E46;
    static final int LIBXC_IMAGE_HEADER_BYTES = 24;
    static final int LIBXC_DOMAIN_HEADER_BYTES = 16;
    /**
     * The largest emulator record accepted. qemu's device state (guest RAM is not in it) is
     * well under a megabyte; the bound only keeps libxl from allocating what a damaged length
     * says.
     */
    static final long MAX_EMULATOR_RECORD_BYTES = 64L << 20;

    /** Where in the stream the next byte belongs. */
    enum Section {
        LIBXL_HEADER(LIBXL_HEADER_BYTES),
        LIBXC_CONTEXT(RECORD_HEADER_BYTES),
        LIBXC_IMAGE_HEADER(LIBXC_IMAGE_HEADER_BYTES),
        LIBXC_DOMAIN_HEADER(LIBXC_DOMAIN_HEADER_BYTES),
        LIBXC_RECORD_HEADER(RECORD_HEADER_BYTES),
        LIBXC_RECORD_BODY(0),
        LIBXL_RECORD_HEADER(RECORD_HEADER_BYTES),
        LIBXL_RECORD_BODY(0),
        COMPLETE(0);

        /** The size of a fixed-size part, 0 for bodies (their size is in their header) and the end. */
        final int headerBytes;

        Section(int headerBytes) {
            this.headerBytes = headerBytes;
        }
    }

    private static final Map<Section, Set<Section>> LEGAL = new EnumMap<>(Section.class);

    static {
        LEGAL.put(Section.LIBXL_HEADER, EnumSet.of(Section.LIBXC_CONTEXT));
        LEGAL.put(Section.LIBXC_CONTEXT, EnumSet.of(Section.LIBXC_IMAGE_HEADER));
        LEGAL.put(Section.LIBXC_IMAGE_HEADER, EnumSet.of(Section.LIBXC_DOMAIN_HEADER));
        LEGAL.put(Section.LIBXC_DOMAIN_HEADER, EnumSet.of(Section.LIBXC_RECORD_HEADER));
        LEGAL.put(Section.LIBXC_RECORD_HEADER, EnumSet.of(Section.LIBXC_RECORD_HEADER, Section.LIBXC_RECORD_BODY,
                Section.LIBXL_RECORD_HEADER));
        LEGAL.put(Section.LIBXC_RECORD_BODY, EnumSet.of(Section.LIBXC_RECORD_HEADER));
        LEGAL.put(Section.LIBXL_RECORD_HEADER, EnumSet.of(Section.LIBXL_RECORD_BODY, Section.COMPLETE));
        LEGAL.put(Section.LIBXL_RECORD_BODY, EnumSet.of(Section.LIBXL_RECORD_HEADER));
        LEGAL.put(Section.COMPLETE, EnumSet.noneOf(Section.class));
    }

    /** The stream is not one this adapter's sender writes. */
    static final class MalformedStreamException extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedStreamException(String message) {
            super(message);
        }
    }

    private final ByteBuffer header = ByteBuffer.allocate(LIBXC_IMAGE_HEADER_BYTES);
    private Section section = Section.LIBXL_HEADER;
    /** Bytes left of the current record body, padding included. */
    private long bodyRemaining;
    /** Bytes accepted so far. */
    private long offset;

    /**
     * Accepts the next bytes of the stream.
     *
     * @param data the bytes; consumed entirely if they are well-formed
     * @throws MalformedStreamException at the first byte that breaks the structure; no byte
     *                                  of {@code data} may then be handed to libxl
     */
    void accept(ByteBuffer data) throws MalformedStreamException {
        ByteBuffer in = data.slice();
        while (in.hasRemaining()) {
            if (section == Section.COMPLETE) {
                throw malformed("data after the stream's END record");
            }
            if (section == Section.LIBXC_RECORD_BODY || section == Section.LIBXL_RECORD_BODY) {
                int n = (int) Math.min(bodyRemaining, in.remaining());
                in.position(in.position() + n);
                offset += n;
                bodyRemaining -= n;
                if (bodyRemaining == 0) {
                    transition(section == Section.LIBXC_RECORD_BODY ? Section.LIBXC_RECORD_HEADER
                            : Section.LIBXL_RECORD_HEADER);
                }
                continue;
            }
            int n = Math.min(section.headerBytes - header.position(), in.remaining());
            header.put(in.slice().limit(n));
            in.position(in.position() + n);
            offset += n;
            if (header.position() == section.headerBytes) {
                header.flip();
                completeHeader();
                header.clear();
            }
        }
        data.position(data.limit());
    }

    /**
     * True once the libxl header and the LIBXC_CONTEXT record have been accepted: from then on a
     * failure of the stream, at any byte, is one libxl survives.
     */
    boolean libxlMayRead() {
        return offset >= LIBXL_PREFIX_BYTES;
    }

    /** True once the libxl END record has been accepted. */
    boolean complete() {
        return section == Section.COMPLETE;
    }

    /** The number of bytes accepted. */
    long offset() {
        return offset;
    }

    /** Where the next byte belongs, for messages and tests. */
    Section section() {
        return section;
    }

    private void completeHeader() throws MalformedStreamException {
        switch (section) {
            case LIBXL_HEADER -> {
                ByteBuffer h = header.order(ByteOrder.BIG_ENDIAN);
                long ident = h.getLong(0);
                int version = h.getInt(8);
                int options = h.getInt(12);
                if (ident != LIBXL_IDENT) {
                    throw malformed(String.format("not a libxl migration stream: ident 0x%016x", ident));
                }
                if (version != LIBXL_VERSION) {
                    throw malformed("libxl stream version " + version + ", expected " + LIBXL_VERSION);
                }
                if (options != 0) {
                    // Bit 0: big-endian, bit 1: converted from a legacy stream. Neither is
                    // written by libxl_domain_suspend on x86_64.
                    throw malformed(String.format("libxl stream options 0x%x, expected 0", options));
                }
                transition(Section.LIBXC_CONTEXT);
            }
            case LIBXC_CONTEXT -> {
                ByteBuffer h = header.order(ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt(0);
                int length = h.getInt(4);
                if (type != REC_LIBXC_CONTEXT || length != 0) {
                    throw malformed(String.format("the first libxl record is type 0x%x, length %d; expected"
                            + " LIBXC_CONTEXT (1), length 0", type, Integer.toUnsignedLong(length)));
                }
                transition(Section.LIBXC_IMAGE_HEADER);
            }
            case LIBXC_IMAGE_HEADER -> {
                ByteBuffer h = header.order(ByteOrder.BIG_ENDIAN);
                long marker = h.getLong(0);
                int id = h.getInt(8);
                int version = h.getInt(12);
                int options = h.getShort(16) & 0xffff;
                if (marker != -1L || id != LIBXC_ID) {
                    throw malformed(String.format("not a libxc image: marker 0x%016x, id 0x%08x", marker, id));
                }
                if (version < 2 || version > 3) {
                    throw malformed("libxc image version " + version + ", expected 2 or 3");
                }
                if ((options & 1) != 0) {
                    throw malformed("a big-endian libxc image");
                }
                transition(Section.LIBXC_DOMAIN_HEADER);
            }
            case LIBXC_DOMAIN_HEADER -> {
                ByteBuffer h = header.order(ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt(0);
                int pageShift = h.getShort(4) & 0xffff;
                // 1 x86 PV, 2 x86 HVM, 3 x86 PVH.
                if (type < 1 || type > 3) {
                    throw malformed("libxc domain type " + Integer.toUnsignedLong(type) + " is not x86");
                }
                if (pageShift != 12) {
                    throw malformed("libxc page shift " + pageShift + ", expected 12");
                }
                transition(Section.LIBXC_RECORD_HEADER);
            }
            case LIBXC_RECORD_HEADER -> {
                ByteBuffer h = header.order(ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt(0);
                long length = Integer.toUnsignedLong(h.getInt(4));
                if (type == REC_END) {
                    if (length != 0) {
                        throw malformed("a libxc END record of length " + length);
                    }
                    transition(Section.LIBXL_RECORD_HEADER);
                } else if (length > 0) {
                    bodyRemaining = padded(length);
                    transition(Section.LIBXC_RECORD_BODY);
                }
                // Else a record with no body: the next header follows.
            }
            case LIBXL_RECORD_HEADER -> {
                ByteBuffer h = header.order(ByteOrder.LITTLE_ENDIAN);
                int type = h.getInt(0);
                long length = Integer.toUnsignedLong(h.getInt(4));
                if (type == REC_END) {
                    if (length != 0) {
                        throw malformed("a libxl END record of length " + length);
                    }
                    transition(Section.COMPLETE);
                } else if (type == REC_EMULATOR_XENSTORE_DATA || type == REC_EMULATOR_CONTEXT) {
                    // Both start with an 8-byte emulator header (id, index).
                    if (length < 8 || length > MAX_EMULATOR_RECORD_BYTES) {
                        throw malformed("an emulator record of length " + length);
                    }
                    bodyRemaining = padded(length);
                    transition(Section.LIBXL_RECORD_BODY);
                } else {
                    throw malformed(String.format("libxl record type 0x%x after the libxc section; a plain"
                            + " migration stream has only emulator records and END there", type));
                }
            }
            default -> throw new IllegalStateException("no header in section " + section);
        }
    }

    private void transition(Section next) {
        if (!LEGAL.get(section).contains(next)) {
            throw new IllegalStateException("libxl stream check: " + section + " -> " + next + " is not a legal move");
        }
        section = next;
    }

    private static long padded(long length) {
        return (length + 7) & ~7L;
    }

    /** A failure of the part that ends at the current offset (a header just completed). */
    private MalformedStreamException malformed(String what) {
        long at = section == Section.COMPLETE ? offset : offset - section.headerBytes;
        return new MalformedStreamException("malformed libxl migration stream at byte " + at + " (" + section
                + "): " + what);
    }
}
