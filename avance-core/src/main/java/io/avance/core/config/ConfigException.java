package io.avance.core.config;

/**
 * A configuration that cannot be used. The message names the key, the bad value and what is
 * expected, for example {@code timing.heartbeat-interval = '5 minutes': not a duration (use
 * 100ms, 2s, 1m)}.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String key;

    /**
     * Creates the exception.
     *
     * @param key     the configuration key at fault
     * @param value   the value given (secrets must be redacted by the caller)
     * @param problem what is wrong and what is expected
     */
    public ConfigException(String key, String value, String problem) {
        super(key + " = '" + value + "': " + problem);
        this.key = key;
    }

    /**
     * The key at fault.
     *
     * @return the configuration key
     */
    public String key() {
        return key;
    }
}
