package io.avance.api.vm;

import java.util.Objects;

/**
 * A VM operation the pair refused or could not carry out. {@link #reason()} says which, for callers
 * that map errors (the monitor, the command line).
 */
public class VmException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why an operation failed. */
    public enum Reason {
        /** Only the primary changes VMs; the message names the primary if known. */
        NOT_PRIMARY,
        /** There is no VM of that name. */
        NO_SUCH_VM,
        /** A different VM of that name exists, or the spec is invalid for this pair or hypervisor. */
        INVALID,
        /** Running it would leave the smaller node unable to host every running VM. */
        ADMISSION,
        /** The VM is in a state that does not allow the operation (undefining a running VM). */
        WRONG_STATE,
        /** The hypervisor failed to carry it out. */
        HYPERVISOR
    }

    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason  why
     * @param message what was refused, and why, in a sentence an operator can act on
     */
    public VmException(Reason reason, String message) {
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
    public VmException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
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
