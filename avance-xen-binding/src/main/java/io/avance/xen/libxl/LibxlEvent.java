package io.avance.xen.libxl;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * The head of {@code libxl_event} (208 bytes in all): the link, the domain, the user value and
 * the type, then the union, of which only {@code u.domain_shutdown.shutdown_reason} (a
 * {@code uint8_t} at the union's start) is read. The union is kept as raw words because its other
 * members ({@code libxl_device_disk}) are not used.
 */
@Structure.FieldOrder({"link_next", "link_prev", "domid", "domuuid", "for_user", "type", "u"})
public final class LibxlEvent extends Structure {

    /** {@code LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN}. */
    public static final int TYPE_DOMAIN_SHUTDOWN = 1;
    /** {@code LIBXL_EVENT_TYPE_DOMAIN_DEATH}. */
    public static final int TYPE_DOMAIN_DEATH = 2;
    /** The size of the union: 208 bytes in all, less the 56 before it. */
    public static final int UNION_SIZE = 152;

    public Pointer link_next;
    public Pointer link_prev;
    public int domid;
    public byte[] domuuid = new byte[16];
    public long for_user;
    public int type;
    /**
     * The union, as 8-byte words: it holds pointers, so C aligns it to 8 (a byte array would
     * sit at 52, not 56; the layout test caught exactly that).
     */
    public long[] u = new long[UNION_SIZE / 8];

    /** A record for the layout test. */
    public LibxlEvent() {
    }

    /**
     * Reads an event libxl handed over.
     *
     * @param memory the event
     */
    public LibxlEvent(Pointer memory) {
        super(memory);
        read();
    }

    /** {@code u.domain_shutdown.shutdown_reason}, meaningful for shutdown events. */
    public int shutdownReason() {
        // A uint8_t at the union's start: the low byte of the first word on little-endian x86.
        return (int) (u[0] & 0xff);
    }

    /**
     * The offset JNA computed for a field, for the layout test.
     *
     * @param field the field's name
     * @return its offset in bytes
     */
    public int offsetOf(String field) {
        return fieldOffset(field);
    }
}
