package io.avance.xen.libxl;

import com.sun.jna.NativeLong;
import com.sun.jna.Structure;
import java.time.Instant;

/** {@code struct timeval}, passed by value to libxl's poll integration. */
@Structure.FieldOrder({"tv_sec", "tv_usec"})
public class Timeval extends Structure {

    public NativeLong tv_sec = new NativeLong(0);
    public NativeLong tv_usec = new NativeLong(0);

    /**
     * The offset JNA computed for a field, for the layout test.
     *
     * @param field the field's name
     * @return its offset in bytes
     */
    public int offsetOf(String field) {
        return fieldOffset(field);
    }

    /** The by-value form JNA passes in registers. */
    public static final class ByValue extends Timeval implements Structure.ByValue {

        /**
         * A time of day, which libxl compares with its own {@code gettimeofday}.
         *
         * @param time the wall-clock time
         * @return the value
         */
        public static ByValue of(Instant time) {
            ByValue value = new ByValue();
            value.tv_sec = new NativeLong(time.getEpochSecond());
            value.tv_usec = new NativeLong(time.getNano() / 1000);
            return value;
        }
    }
}
