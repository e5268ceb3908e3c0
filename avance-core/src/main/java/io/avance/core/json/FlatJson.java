package io.avance.core.json;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a flat JSON object (members whose values are strings, numbers, booleans or null), such as
 * an audit-journal line. Nested values are rejected. Stateless and thread-safe.
 */
public final class FlatJson {

    private FlatJson() {
    }

    /**
     * Parses one flat object.
     *
     * @param json the text
     * @return its members in order; numbers and booleans as their text, null as null
     * @throws IllegalArgumentException if the text is not a flat JSON object
     */
    public static Map<String, String> parse(String json) {
        Parser parser = new Parser(json);
        Map<String, String> members = new LinkedHashMap<>();
        parser.skipSpace();
        parser.expect('{');
        parser.skipSpace();
        if (parser.peek() == '}') {
            parser.position++;
            return members;
        }
        while (true) {
            parser.skipSpace();
            String name = parser.string();
            parser.skipSpace();
            parser.expect(':');
            parser.skipSpace();
            members.put(name, parser.scalar());
            parser.skipSpace();
            char next = parser.next();
            if (next == '}') {
                return members;
            }
            if (next != ',') {
                throw new IllegalArgumentException("expected , or } at " + (parser.position - 1));
            }
        }
    }

    private static final class Parser {
        final String text;
        int position;

        Parser(String text) {
            this.text = text;
        }

        char peek() {
            if (position >= text.length()) {
                throw new IllegalArgumentException("unexpected end of JSON");
            }
            return text.charAt(position);
        }

        char next() {
            char c = peek();
            position++;
            return c;
        }

        void expect(char c) {
            if (next() != c) {
                throw new IllegalArgumentException("expected " + c + " at " + (position - 1));
            }
        }

        void skipSpace() {
            while (position < text.length() && Character.isWhitespace(text.charAt(position))) {
                position++;
            }
        }

        String scalar() {
            char c = peek();
            if (c == '"') {
                return string();
            }
            if (c == '{' || c == '[') {
                throw new IllegalArgumentException("nested value at " + position);
            }
            int start = position;
            while (position < text.length() && ",}] \t\r\n".indexOf(text.charAt(position)) < 0) {
                position++;
            }
            String word = text.substring(start, position);
            return word.equals("null") ? null : word;
        }

        String string() {
            expect('"');
            StringBuilder out = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return out.toString();
                }
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char escaped = next();
                switch (escaped) {
                    case '"', '\\', '/' -> out.append(escaped);
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        if (position + 4 > text.length()) {
                            throw new IllegalArgumentException("short \\u escape");
                        }
                        out.append((char) Integer.parseInt(text.substring(position, position + 4), 16));
                        position += 4;
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + escaped);
                }
            }
        }
    }
}
