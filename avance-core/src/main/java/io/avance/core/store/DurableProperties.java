package io.avance.core.store;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * A small set of {@code key=value} lines, written with {@link AtomicFile} and sealed with a
 * CRC32C, so that a damaged file is detected rather than trusted.
 *
 * <p>Format: one {@code key=value} per line in key order, then {@code crc32c=XXXXXXXX} over
 * everything before that line. Keys and values must not contain line breaks; keys not '='.
 */
public final class DurableProperties {

    private static final String CRC_KEY = "crc32c";

    private DurableProperties() {
    }

    /**
     * Replaces the file with the given entries.
     *
     * @param file    the file
     * @param entries the entries
     * @throws IllegalArgumentException if a key or value cannot be stored
     * @throws UncheckedIOException     if the write fails
     */
    public static void write(Path file, Map<String, String> entries) {
        StringBuilder body = new StringBuilder();
        SortedMap<String, String> sorted = new TreeMap<>(entries);
        for (Map.Entry<String, String> entry : sorted.entrySet()) {
            String key = entry.getKey();
            String value = entry.getValue();
            if (key.isEmpty() || key.equals(CRC_KEY) || key.indexOf('=') >= 0 || hasLineBreak(key)
                    || hasLineBreak(value)) {
                throw new IllegalArgumentException("cannot store entry '" + key + "'");
            }
            body.append(key).append('=').append(value).append('\n');
        }
        String crc = crcOf(body.toString());
        body.append(CRC_KEY).append('=').append(crc).append('\n');
        AtomicFile.write(file, body.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads the file.
     *
     * @param file the file
     * @return its entries, or empty if the file does not exist
     * @throws CorruptFileException if the file exists but its checksum does not match
     */
    public static Optional<Map<String, String>> read(Path file) {
        Optional<byte[]> bytes = AtomicFile.read(file);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        String text = new String(bytes.get(), StandardCharsets.UTF_8);
        int crcLine = text.lastIndexOf(CRC_KEY + "=");
        if (crcLine < 0 || (crcLine > 0 && text.charAt(crcLine - 1) != '\n')) {
            throw new CorruptFileException(file + " has no checksum line");
        }
        String body = text.substring(0, crcLine);
        String recorded = text.substring(crcLine + CRC_KEY.length() + 1).trim();
        if (!recorded.equals(crcOf(body))) {
            throw new CorruptFileException(file + " is damaged: checksum " + recorded + ", content gives " + crcOf(body));
        }
        Map<String, String> entries = new LinkedHashMap<>();
        for (String line : body.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int equals = line.indexOf('=');
            if (equals <= 0) {
                throw new CorruptFileException(file + " has a malformed line: " + line);
            }
            entries.put(line.substring(0, equals), line.substring(equals + 1));
        }
        return Optional.of(entries);
    }

    private static boolean hasLineBreak(String text) {
        return text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0;
    }

    private static String crcOf(String body) {
        CRC32C crc = new CRC32C();
        crc.update(body.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }

    /** A durable file whose checksum does not match its content. */
    public static final class CorruptFileException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CorruptFileException(String message) {
            super(message);
        }
    }
}
