package io.avance.core.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes of one volume on one node. A failure is an {@link IOException}; the volume then
 * treats its local copy as failed (rule 5).
 *
 * <p>Thread-safe: reads and writes at different offsets may run at once; the volume orders
 * overlapping ones itself.
 */
public interface BlockStore extends AutoCloseable {

    /**
     * The store's size.
     *
     * @return bytes
     */
    long sizeBytes();

    /**
     * Reads {@code destination.remaining()} bytes at {@code offset}; the position advances.
     *
     * @param offset      where to read
     * @param destination where the bytes go
     * @throws IOException if the device fails
     */
    void read(long offset, ByteBuffer destination) throws IOException;

    /**
     * Writes {@code source.remaining()} bytes at {@code offset}; the position advances.
     *
     * @param offset where to write
     * @param source the bytes
     * @throws IOException if the device fails
     */
    void write(long offset, ByteBuffer source) throws IOException;

    /**
     * Makes a range read as zeros (and frees its space where the store can).
     *
     * @param offset where the range starts
     * @param length how long it is
     * @throws IOException if the device fails
     */
    void writeZeroes(long offset, long length) throws IOException;

    /**
     * Makes every completed write durable (fdatasync).
     *
     * @throws IOException if the device fails
     */
    void sync() throws IOException;

    @Override
    void close() throws IOException;
}
