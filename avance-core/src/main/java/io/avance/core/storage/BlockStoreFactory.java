package io.avance.core.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens the block store of a volume. The engine uses {@link FileBlockStore}; tests pass a
 * factory whose stores fail on command.
 */
@FunctionalInterface
public interface BlockStoreFactory {

    /**
     * Opens, or creates, a store.
     *
     * @param path      the file or block device
     * @param sizeBytes the volume's size
     * @return the store
     * @throws IOException if it cannot be opened or has the wrong size
     */
    BlockStore open(Path path, long sizeBytes) throws IOException;

    /**
     * The default: plain files (sparse when created) or block devices.
     *
     * @return the factory
     */
    static BlockStoreFactory files() {
        return FileBlockStore::open;
    }
}
