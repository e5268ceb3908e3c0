package io.avance.api;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The stable name of one node of a pair, such as {@code "alpha"} or {@code "rack2-left"}.
 *
 * <p>A node id is 1 to 64 characters: ASCII letters, digits, {@code '.'}, {@code '_'} and
 * {@code '-'}, starting with a letter or digit. It travels on the wire and names files, so it
 * is deliberately plain. Ids order by their text; the pair uses that order to break ties
 * deterministically (the smaller id dials the private link, and wins a simultaneous election).
 *
 * <p>Immutable and thread-safe.
 *
 * @param value the id's text
 */
public record NodeId(String value) implements Comparable<NodeId> {

    private static final Pattern FORM = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /**
     * Checks the form of the id.
     *
     * @throws IllegalArgumentException if {@code value} is not 1-64 characters of the allowed set
     */
    public NodeId {
        Objects.requireNonNull(value, "value");
        if (!FORM.matcher(value).matches()) {
            throw new IllegalArgumentException("node id '" + value
                    + "' must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit");
        }
    }

    /**
     * Returns the id with the given text.
     *
     * @param value the id's text
     * @return the id
     * @throws IllegalArgumentException if the text is not a valid id
     */
    public static NodeId of(String value) {
        return new NodeId(value);
    }

    @Override
    public int compareTo(NodeId other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
