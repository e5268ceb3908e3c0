package io.avance.api.migration;

/**
 * A migration that failed. The VM keeps running on the source whenever this is thrown before the
 * switch to the target.
 */
public class MigrationException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed
     */
    public MigrationException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed
     * @param cause   the underlying failure
     */
    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
