package io.avance.core.json;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Writes one JSON document into a string, with commas placed for the caller.
 *
 * <pre>{@code
 * String json = new JsonWriter().beginObject().name("role").value("primary")
 *         .name("score").value(1000).endObject().toString();
 * }</pre>
 *
 * <p>Not thread-safe; one writer per document. Misuse (a value where a name is due, unbalanced
 * ends) throws {@link IllegalStateException}.
 */
public final class JsonWriter {

    private final StringBuilder out = new StringBuilder(256);
    /** Per open container: true once it holds an element (the next one needs a comma). */
    private final Deque<boolean[]> open = new ArrayDeque<>();
    private boolean afterName;

    /** @return this, after "{" */
    public JsonWriter beginObject() {
        beforeValue();
        out.append('{');
        open.push(new boolean[1]);
        return this;
    }

    /** @return this, after "}" */
    public JsonWriter endObject() {
        return end('}');
    }

    /** @return this, after "[" */
    public JsonWriter beginArray() {
        beforeValue();
        out.append('[');
        open.push(new boolean[1]);
        return this;
    }

    /** @return this, after "]" */
    public JsonWriter endArray() {
        return end(']');
    }

    private JsonWriter end(char bracket) {
        if (open.isEmpty() || afterName) {
            throw new IllegalStateException("unbalanced " + bracket);
        }
        open.pop();
        out.append(bracket);
        return this;
    }

    /**
     * Writes a member name; a value must follow.
     *
     * @param name the name
     * @return this
     */
    public JsonWriter name(String name) {
        if (open.isEmpty() || afterName) {
            throw new IllegalStateException("a name outside an object: " + name);
        }
        comma();
        quote(out, name);
        out.append(':');
        afterName = true;
        return this;
    }

    /** @param value a string, or null @return this */
    public JsonWriter value(String value) {
        beforeValue();
        if (value == null) {
            out.append("null");
        } else {
            quote(out, value);
        }
        return this;
    }

    /** @param value a whole number @return this */
    public JsonWriter value(long value) {
        beforeValue();
        out.append(value);
        return this;
    }

    /** @param value a number (NaN and infinities become null) @return this */
    public JsonWriter value(double value) {
        beforeValue();
        out.append(Double.isFinite(value) ? Double.toString(value) : "null");
        return this;
    }

    /** @param value a boolean @return this */
    public JsonWriter value(boolean value) {
        beforeValue();
        out.append(value);
        return this;
    }

    /**
     * Inserts an already written JSON value as it is.
     *
     * @param json a complete JSON value
     * @return this
     */
    public JsonWriter raw(String json) {
        beforeValue();
        out.append(json);
        return this;
    }

    /** @return this, after null */
    public JsonWriter nullValue() {
        beforeValue();
        out.append("null");
        return this;
    }

    private void beforeValue() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (!open.isEmpty()) {
            comma();
        }
    }

    private void comma() {
        boolean[] container = open.peek();
        if (container != null) {
            if (container[0]) {
                out.append(',');
            }
            container[0] = true;
        }
    }

    /**
     * Quotes a string for JSON.
     *
     * @param text the string
     * @return the text in double quotes, escaped (also {@code <}, so that JSON is safe inside HTML)
     */
    public static String quote(String text) {
        StringBuilder builder = new StringBuilder(text.length() + 2);
        quote(builder, text);
        return builder.toString();
    }

    private static void quote(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '<' -> out.append("\\u003c");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * The document so far.
     *
     * @return the JSON text
     */
    @Override
    public String toString() {
        if (!open.isEmpty()) {
            throw new IllegalStateException("the document is not complete");
        }
        return out.toString();
    }
}
