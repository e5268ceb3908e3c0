package io.avance.api.replication;

import java.util.Objects;

/**
 * A volume operation that could not be carried out: the node may not serve, the range is out of
 * bounds, or no copy of the data could be reached. {@link #reason()} tells which, for callers
 * that map errors to a protocol (NBD's error codes).
 */
public class VolumeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why an operation failed. */
    public enum Reason {
        /** This node may not serve the volume now (it is not primary, or its lease ran out). */
        NOT_SERVING,
        /** The range lies (partly) outside the volume. */
        OUT_OF_RANGE,
        /** The request is malformed or not supported. */
        INVALID,
        /** Neither copy of the data could be read or written. */
        IO_ERROR,
        /** The volume does not exist. */
        NO_SUCH_VOLUME
    }

    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason  why
     * @param message what failed
     */
    public VolumeException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /**
     * Creates the exception with its cause.
     *
     * @param reason  why
     * @param message what failed
     * @param cause   the underlying failure
     */
    public VolumeException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /**
     * Creates an I/O failure.
     *
     * @param message what failed and why
     */
    public VolumeException(String message) {
        this(Reason.IO_ERROR, message);
    }

    /**
     * Creates an I/O failure with its cause.
     *
     * @param message what failed and why
     * @param cause   the underlying failure
     */
    public VolumeException(String message, Throwable cause) {
        this(Reason.IO_ERROR, message, cause);
    }

    /**
     * Why the operation failed.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }
}
