package io.avance.testkit.process;

import io.avance.core.daemon.EventLines;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One event line of a node process: {@code avance-event at=NANOS type=TYPE key=value ...}, values
 * in double quotes when they hold spaces, with backslash escapes.
 *
 * @param atNanos when it happened, on the machine's monotonic clock
 * @param type    what kind of event (ready, role, peer, path, decision, fault, status, stopped)
 * @param fields  the other fields
 */
public record NodeEvent(long atNanos, String type, Map<String, String> fields) {

    /** The prefix of every event line. */
    public static final String PREFIX = EventLines.PREFIX;

    private static final Pattern FIELD = Pattern.compile("([a-zA-Z]+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");

    /**
     * A field's value.
     *
     * @param key the field
     * @return its value, or empty
     */
    public Optional<String> get(String key) {
        return Optional.ofNullable(fields.get(key));
    }

    /**
     * Formats an event line (as the node does, see {@link EventLines}).
     *
     * @param atNanos when
     * @param type    what kind
     * @param fields  alternating keys and values
     * @return the line
     */
    public static String format(long atNanos, String type, Object... fields) {
        return EventLines.format(atNanos, type, fields);
    }

    /**
     * Parses an event line.
     *
     * @param line a line of a node process's output
     * @return the event, or empty if the line is not an event
     */
    public static Optional<NodeEvent> parse(String line) {
        if (!line.startsWith(PREFIX)) {
            return Optional.empty();
        }
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher matcher = FIELD.matcher(line.substring(PREFIX.length()));
        while (matcher.find()) {
            String value = matcher.group(2);
            if (value.startsWith("\"")) {
                value = value.substring(1, value.length() - 1).replace("\\n", "\n").replaceAll("\\\\(.)", "$1");
            }
            fields.put(matcher.group(1), value);
        }
        String at = fields.remove("at");
        String type = fields.remove("type");
        if (at == null || type == null) {
            return Optional.empty();
        }
        return Optional.of(new NodeEvent(Long.parseLong(at), type, fields));
    }
}
