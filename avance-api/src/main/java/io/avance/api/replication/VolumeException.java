package io.avance.api.replication;

/**
 * A volume operation that could not be carried out: the node may not serve, the range is out of
 * bounds, or no copy of the data could be reached.
 */
public class VolumeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and why
     */
    public VolumeException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed and why
     * @param cause   the underlying failure
     */
    public VolumeException(String message, Throwable cause) {
        super(message, cause);
    }
}
