package io.avance.api.replication;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * A replicated block device, as its users (a guest, an NBD client, an embedding program) see it.
 *
 * <p>Every operation is asynchronous and may be called from any thread. A stage completes
 * normally only when the operation's guarantee holds:
 * <ul>
 *   <li>{@link #write}: the data is applied on this node and, while the pair is connected, on
 *       the peer; with {@code fua} it is also durable on both;</li>
 *   <li>{@link #flush}: every write completed before the flush was called is durable on both
 *       nodes (or, while degraded, on this one, and recorded in the dirty bitmap);</li>
 *   <li>{@link #read}: the buffer holds the data as of some moment during the call.</li>
 * </ul>
 * A stage completes exceptionally with {@link VolumeException} if the node may not serve (it is
 * not primary), the range is outside the volume, or both copies failed.
 *
 * <p>Ownership of buffers: the caller must not touch a buffer passed to {@link #write} or
 * {@link #read} until the returned stage completes. Positions and limits are not changed.
 */
public interface Volume {

    /**
     * The volume's name.
     *
     * @return the name
     */
    String name();

    /**
     * The volume's size.
     *
     * @return the size in bytes
     */
    long sizeBytes();

    /**
     * Reads {@code destination.remaining()} bytes from {@code offset}.
     *
     * @param offset      where to start, in bytes
     * @param destination where the data goes, from its position to its limit
     * @return a stage that completes when the buffer is filled
     */
    CompletionStage<Void> read(long offset, ByteBuffer destination);

    /**
     * Writes {@code data.remaining()} bytes at {@code offset}.
     *
     * @param offset where to start, in bytes
     * @param data   the bytes, from its position to its limit
     * @param fua    force unit access: complete only when durable on both nodes
     * @return a stage that completes when the write is applied on both nodes
     */
    CompletionStage<Void> write(long offset, ByteBuffer data, boolean fua);

    /**
     * Makes every completed write durable on both nodes.
     *
     * @return a stage that completes when that holds
     */
    CompletionStage<Void> flush();

    /**
     * Tells the volume that a range's contents are no longer needed; later reads of the range
     * return zeros.
     *
     * @param offset where the range starts
     * @param length its length in bytes
     * @return a stage that completes when the range reads as zeros on both nodes
     */
    CompletionStage<Void> trim(long offset, long length);

    /**
     * Writes zeros over a range without sending them as data.
     *
     * @param offset where the range starts
     * @param length its length in bytes
     * @param fua    complete only when durable on both nodes
     * @return a stage that completes when the zeros are applied on both nodes
     */
    CompletionStage<Void> writeZeroes(long offset, long length, boolean fua);

    /**
     * The volume's replication status now.
     *
     * @return a snapshot of the status
     */
    VolumeStatus status();
}
