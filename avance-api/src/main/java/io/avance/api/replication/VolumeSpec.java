package io.avance.api.replication;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a replicated volume should be.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name                 1-64 characters of letters, digits, {@code . _ -}; names the
 *                             export and the backing file
 * @param sizeBytes            the size; a positive multiple of 4096
 * @param bitmapBlockSizeBytes how much data one bit of the dirty bitmap covers: a power of two
 *                             from 4 KiB to 1 MiB. Smaller means less data resent after an
 *                             outage and a larger bitmap (32 KiB per GiB at 4 KiB).
 */
public record VolumeSpec(String name, long sizeBytes, int bitmapBlockSizeBytes) {

    /** The default amount of data one dirty-bitmap bit covers. */
    public static final int DEFAULT_BITMAP_BLOCK_SIZE = 4096;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the field and the bad value
     */
    public VolumeSpec {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("volume name '" + name
                    + "' must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit");
        }
        if (sizeBytes <= 0 || sizeBytes % 4096 != 0) {
            throw new IllegalArgumentException("volume size must be a positive multiple of 4096, was " + sizeBytes);
        }
        if (bitmapBlockSizeBytes < 4096 || bitmapBlockSizeBytes > (1 << 20)
                || Integer.bitCount(bitmapBlockSizeBytes) != 1) {
            throw new IllegalArgumentException("bitmap block size must be a power of two from 4096 to 1048576, was "
                    + bitmapBlockSizeBytes);
        }
    }

    /**
     * A volume with the default bitmap granularity.
     *
     * @param name      the volume's name
     * @param sizeBytes its size
     * @return the spec
     */
    public static VolumeSpec of(String name, long sizeBytes) {
        return new VolumeSpec(name, sizeBytes, DEFAULT_BITMAP_BLOCK_SIZE);
    }
}
