package io.avance.core.daemon;

/**
 * The node's events as text lines: {@code avance-event at=NANOS type=TYPE key=value ...}, each
 * value in double quotes when it holds a space, a quote, a backslash or a control character,
 * with backslash escapes ({@code \n} for a line break). One event, one line, so that a
 * supervisor (or a test harness) reading the node's standard output never sees half an event.
 * Stateless and thread-safe.
 */
public final class EventLines {

    /** The prefix of every event line. */
    public static final String PREFIX = "avance-event ";

    private EventLines() {
    }

    /**
     * Formats an event line.
     *
     * @param atNanos when it happened, on the machine's monotonic clock
     * @param type    what kind of event (ready, role, peer, path, decision, fault, status, stopped, ...)
     * @param fields  alternating keys (letters only) and values
     * @return the line, without a line break
     */
    public static String format(long atNanos, String type, Object... fields) {
        StringBuilder line = new StringBuilder(PREFIX).append("at=").append(atNanos).append(" type=").append(type);
        for (int i = 0; i + 1 < fields.length; i += 2) {
            line.append(' ').append(fields[i]).append('=').append(quote(String.valueOf(fields[i + 1])));
        }
        return line.toString();
    }

    private static String quote(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(c -> c == ' ' || c == '"' || c == '\\' || c < 0x20)) {
            return value;
        }
        StringBuilder quoted = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') {
                quoted.append('\\').append(c);
            } else if (c == '\n') {
                quoted.append("\\n");
            } else if (c >= 0x20) {
                quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }
}
