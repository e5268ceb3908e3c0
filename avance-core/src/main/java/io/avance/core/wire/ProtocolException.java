package io.avance.core.wire;

/**
 * Bytes that do not follow the protocol. The connection that sent them is closed; the node keeps
 * running. The message says what was expected and what arrived.
 */
public final class ProtocolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong
     */
    public ProtocolException(String message) {
        super(message);
    }
}
