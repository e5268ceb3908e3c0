package io.avance.api.hypervisor;

/**
 * A hypervisor operation that failed. The message says what was asked and what the hypervisor
 * answered.
 */
public class HypervisorException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed
     */
    public HypervisorException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed
     * @param cause   the underlying failure
     */
    public HypervisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
