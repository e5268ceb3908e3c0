package io.avance.xen.libxl;

import com.sun.jna.Structure;

/**
 * {@code libxl_event_hooks} (24 bytes). libxl keeps a pointer to it without copying, so the
 * instance, and the two callbacks in it, must stay strongly reachable until the context is freed.
 */
@Structure.FieldOrder({"event_occurs_mask", "event_occurs", "disaster"})
public final class EventHooks extends Structure {

    public long event_occurs_mask;
    public LibXenLight.EventOccurs event_occurs;
    public LibXenLight.Disaster disaster;

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
