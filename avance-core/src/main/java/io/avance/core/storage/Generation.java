package io.avance.core.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A volume's generation identifiers (after DRBD's): which history of writes a copy holds.
 *
 * <ul>
 *   <li>{@code current}: the generation this copy is in. {@link #ZERO} for a volume never written
 *       since it was created (all zeros).</li>
 *   <li>{@code bitmap}: the generation the dirty bitmap counts changes from, while this copy runs
 *       without its peer; 0 while the two are in sync.</li>
 *   <li>{@code history}: earlier generations, newest first (at most {@value #HISTORY}).</li>
 * </ul>
 *
 * A node that writes while its peer is away starts a new generation first
 * ({@link #rotated(long)}): the old current becomes the bitmap generation, and the bitmap records
 * every block changed since. When the nodes meet again, comparing generations tells who is ahead,
 * whether the bitmap suffices, and whether both changed (split brain): see {@link SyncDecision}.
 *
 * @param current the current generation
 * @param bitmap  the generation the bitmap is relative to, or 0
 * @param history earlier generations, newest first
 */
public record Generation(long current, long bitmap, List<Long> history) {

    /** The generation of a volume that has never been written: all zeros. */
    public static final long ZERO = 0;
    /**
     * The bitmap generation of a copy that has run without its peer since it was empty: its bitmap
     * holds every block ever written.
     */
    public static final long FROM_ZERO = -1L;
    /** How many earlier generations are kept. */
    public static final int HISTORY = 4;

    /**
     * Copies the history.
     */
    public Generation {
        Objects.requireNonNull(history, "history");
        history = List.copyOf(history);
    }

    /**
     * The generation of a new, empty volume.
     *
     * @return current {@link #ZERO}, no bitmap, no history
     */
    public static Generation empty() {
        return new Generation(ZERO, 0, List.of());
    }

    /**
     * Starts a new generation before the first write without the peer.
     *
     * @param fresh a new random identifier, never 0
     * @return the rotated generation
     */
    public Generation rotated(long fresh) {
        if (fresh == ZERO) {
            throw new IllegalArgumentException("a generation identifier is never 0");
        }
        List<Long> older = new ArrayList<>();
        if (bitmap != 0) {
            older.add(bitmap);
        }
        older.addAll(history);
        if (bitmap == 0) {
            // The bitmap counts from the current generation (for a volume never written, from ZERO,
            // which the bitmap field cannot hold: it keeps the marker below).
            return new Generation(fresh, current == ZERO ? FROM_ZERO : current, trim(older));
        }
        // Already running without the peer: keep counting from the same bitmap generation.
        return new Generation(fresh, bitmap, trim(history));
    }

    /**
     * The generation after a completed resync, for the target: it holds the source's data now.
     *
     * @param source the source's generation
     * @return the source's current and history, no bitmap
     */
    public static Generation adoptedFrom(Generation source) {
        return new Generation(source.current(), 0, source.history());
    }

    /**
     * The generation after a completed resync, for the source: in sync, nothing to track.
     *
     * @return this generation without its bitmap generation
     */
    public Generation inSync() {
        List<Long> older = new ArrayList<>();
        if (bitmap != 0 && bitmap != current) {
            older.add(bitmap);
        }
        older.addAll(history);
        return new Generation(current, 0, trim(older));
    }

    private static List<Long> trim(List<Long> list) {
        List<Long> unique = new ArrayList<>();
        for (Long id : list) {
            if (id != ZERO && id != FROM_ZERO && !unique.contains(id)) {
                unique.add(id);
            }
        }
        return unique.size() > HISTORY ? unique.subList(0, HISTORY) : unique;
    }

    /**
     * Formats for the metadata file.
     *
     * @return {@code current/bitmap/h1,h2,...} in hex
     */
    public String encode() {
        StringBuilder text = new StringBuilder(Long.toHexString(current)).append('/').append(Long.toHexString(bitmap))
                .append('/');
        for (int i = 0; i < history.size(); i++) {
            text.append(i == 0 ? "" : ",").append(Long.toHexString(history.get(i)));
        }
        return text.toString();
    }

    /**
     * Parses the metadata file's form.
     *
     * @param text what {@link #encode()} wrote
     * @return the generation
     */
    public static Generation decode(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("bad generation '" + text + "'");
        }
        List<Long> history = new ArrayList<>();
        if (!parts[2].isEmpty()) {
            for (String id : parts[2].split(",")) {
                history.add(Long.parseUnsignedLong(id, 16));
            }
        }
        return new Generation(Long.parseUnsignedLong(parts[0], 16), Long.parseUnsignedLong(parts[1], 16), history);
    }

    @Override
    public String toString() {
        return encode();
    }
}
