package io.avance.core.storage;

import io.avance.core.store.DurableProperties;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a node records about its copy of one volume, written atomically and checksummed.
 *
 * @param name                 the volume's name
 * @param sizeBytes            its size
 * @param bitmapBlockSizeBytes bytes per dirty-bitmap bit
 * @param generation           its generation identifiers
 * @param consistent           false while this copy is the target of an unfinished resync
 * @param failed               true once its disk failed; a full resync is needed before it is used
 * @param cleanShutdown        true if the node stopped cleanly (the bitmap file is then exact and
 *                             the activity log empty)
 */
public record VolumeMeta(String name, long sizeBytes, int bitmapBlockSizeBytes, Generation generation,
                         boolean consistent, boolean failed, boolean cleanShutdown) {

    /**
     * A new volume's metadata.
     *
     * @param name                 its name
     * @param sizeBytes            its size
     * @param bitmapBlockSizeBytes bytes per bitmap bit
     * @return empty, consistent, not failed
     */
    public static VolumeMeta created(String name, long sizeBytes, int bitmapBlockSizeBytes) {
        return new VolumeMeta(name, sizeBytes, bitmapBlockSizeBytes, Generation.empty(), true, false, true);
    }

    /**
     * Reads the metadata file.
     *
     * @param file the file
     * @return the metadata, or empty if there is none
     * @throws IllegalStateException if it is damaged
     */
    public static Optional<VolumeMeta> read(Path file) {
        Optional<Map<String, String>> entries;
        try {
            entries = DurableProperties.read(file);
        } catch (DurableProperties.CorruptFileException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        if (entries.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> values = entries.get();
        try {
            return Optional.of(new VolumeMeta(values.get("name"), Long.parseLong(values.get("size")),
                    Integer.parseInt(values.get("bitmap-block-size")), Generation.decode(values.get("generation")),
                    Boolean.parseBoolean(values.get("consistent")), Boolean.parseBoolean(values.get("failed")),
                    Boolean.parseBoolean(values.get("clean-shutdown"))));
        } catch (RuntimeException e) {
            throw new IllegalStateException(file + " has a bad value: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the metadata file durably.
     *
     * @param file the file
     */
    public void write(Path file) {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("name", name);
        values.put("size", Long.toString(sizeBytes));
        values.put("bitmap-block-size", Integer.toString(bitmapBlockSizeBytes));
        values.put("generation", generation.encode());
        values.put("consistent", Boolean.toString(consistent));
        values.put("failed", Boolean.toString(failed));
        values.put("clean-shutdown", Boolean.toString(cleanShutdown));
        DurableProperties.write(file, values);
    }

    /** @param next the new generation @return a copy with it */
    public VolumeMeta withGeneration(Generation next) {
        return new VolumeMeta(name, sizeBytes, bitmapBlockSizeBytes, next, consistent, failed, cleanShutdown);
    }

    /** @param value whether consistent @return a copy with it */
    public VolumeMeta withConsistent(boolean value) {
        return new VolumeMeta(name, sizeBytes, bitmapBlockSizeBytes, generation, value, failed, cleanShutdown);
    }

    /** @param value whether failed @return a copy with it */
    public VolumeMeta withFailed(boolean value) {
        return new VolumeMeta(name, sizeBytes, bitmapBlockSizeBytes, generation, consistent, value, cleanShutdown);
    }

    /** @param value whether the shutdown was clean @return a copy with it */
    public VolumeMeta withCleanShutdown(boolean value) {
        return new VolumeMeta(name, sizeBytes, bitmapBlockSizeBytes, generation, consistent, failed, value);
    }
}
