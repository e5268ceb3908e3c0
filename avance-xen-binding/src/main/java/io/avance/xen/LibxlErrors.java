package io.avance.xen;

/**
 * Names for libxl's error codes ({@code enum libxl_error} in {@code _libxl_types.h}), so that
 * exception messages say what libxl answered. Stateless.
 */
final class LibxlErrors {

    /** Index {@code -code - 1}: the names of codes -1 to -32. */
    private static final String[] NAMES = {
        "NONSPECIFIC", "VERSION", "FAIL", "NI", "NOMEM", "INVAL", "BADFAIL", "GUEST_TIMEDOUT", "TIMEDOUT",
        "NOPARAVIRT", "NOT_READY", "OSEVENT_REG_FAIL", "BUFFERFULL", "UNKNOWN_CHILD", "LOCK_FAIL",
        "JSON_CONFIG_EMPTY", "DEVICE_EXISTS", "CHECKPOINT_DEVOPS_DOES_NOT_MATCH",
        "CHECKPOINT_DEVICE_NOT_SUPPORTED", "VNUMA_CONFIG_INVALID", "DOMAIN_NOTFOUND", "ABORTED", "NOTFOUND",
        "DOMAIN_DESTROYED", "FEATURE_REMOVED", "PROTOCOL_ERROR_QMP", "UNKNOWN_QMP_ERROR", "QMP_GENERIC_ERROR",
        "QMP_COMMAND_NOT_FOUND", "QMP_DEVICE_NOT_ACTIVE", "QMP_DEVICE_NOT_FOUND", "QEMU_API",
    };

    /** {@code ERROR_FAIL}. */
    static final int FAIL = -3;
    /** {@code ERROR_INVAL}. */
    static final int INVAL = -6;
    /** {@code ERROR_NOPARAVIRT}: the guest has no PV control interface (no shutdown or reboot). */
    static final int NOPARAVIRT = -10;
    /** {@code ERROR_DOMAIN_NOTFOUND}. */
    static final int DOMAIN_NOTFOUND = -21;

    private LibxlErrors() {
    }

    /**
     * The name of a libxl return code.
     *
     * @param code a libxl return value
     * @return for example {@code "ERROR_DOMAIN_NOTFOUND (-21)"}
     */
    static String describe(int code) {
        if (code == 0) {
            return "OK (0)";
        }
        if (code < 0 && -code <= NAMES.length) {
            return "ERROR_" + NAMES[-code - 1] + " (" + code + ")";
        }
        return "unknown libxl code " + code;
    }
}
