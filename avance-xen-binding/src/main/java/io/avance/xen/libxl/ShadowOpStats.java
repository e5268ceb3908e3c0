package io.avance.xen.libxl;

import com.sun.jna.Structure;

/** {@code xc_shadow_op_stats_t}: counters Xen returns with each log-dirty round. */
@Structure.FieldOrder({"fault_count", "dirty_count"})
public final class ShadowOpStats extends Structure {

    public int fault_count;
    public int dirty_count;

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
