package io.avance.xen.libxl;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * {@code libxl_dominfo} of Xen 4.17 (120 bytes on x86_64; checked against the C header by the
 * layout test). The six C {@code bool} fields are one byte each, so they are {@code byte} here:
 * JNA's {@code boolean} is four bytes and would shift every later field.
 */
@Structure.FieldOrder({"uuid", "domid", "ssidref", "ssid_label", "running", "blocked", "paused", "shutdown",
        "dying", "never_stop", "shutdown_reason", "outstanding_memkb", "current_memkb", "shared_memkb",
        "paged_memkb", "max_memkb", "cpu_time", "vcpu_max_id", "vcpu_online", "cpupool", "gpaddr_bits",
        "domain_type"})
public final class DomInfo extends Structure {

    /** {@code LIBXL_DOMAIN_TYPE_HVM}; PVH guests report this too. */
    public static final int TYPE_HVM = 1;
    /** {@code LIBXL_DOMAIN_TYPE_PV}. */
    public static final int TYPE_PV = 2;
    /** {@code LIBXL_DOMAIN_TYPE_PVH}. */
    public static final int TYPE_PVH = 3;

    public byte[] uuid = new byte[16];
    public int domid;
    public int ssidref;
    public Pointer ssid_label;
    public byte running;
    public byte blocked;
    public byte paused;
    public byte shutdown;
    public byte dying;
    public byte never_stop;
    public int shutdown_reason;
    public long outstanding_memkb;
    public long current_memkb;
    public long shared_memkb;
    public long paged_memkb;
    public long max_memkb;
    public long cpu_time;
    public int vcpu_max_id;
    public int vcpu_online;
    public int cpupool;
    public byte gpaddr_bits;
    public int domain_type;

    /** An empty record for {@code libxl_domain_info} to fill. */
    public DomInfo() {
    }

    /**
     * A record over native memory, for arrays from {@code libxl_list_domain}.
     *
     * @param memory the first element
     */
    public DomInfo(Pointer memory) {
        super(memory);
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
