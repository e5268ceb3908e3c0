package io.avance.core.config;

import io.avance.api.replication.VolumeSpec;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A volume the node opens at start ({@code volume.NAME.*}).
 *
 * @param spec the volume's name, size and bitmap granularity ({@code volume.NAME.size},
 *             {@code volume.NAME.bitmap-block-size})
 * @param path where its data lives: a file or a block device ({@code volume.NAME.path}); empty
 *             for {@code NAME.img} in the node's volume directory
 */
public record VolumeConfig(VolumeSpec spec, Optional<Path> path) {

    /**
     * Validates the fields.
     */
    public VolumeConfig {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(path, "path");
    }
}
