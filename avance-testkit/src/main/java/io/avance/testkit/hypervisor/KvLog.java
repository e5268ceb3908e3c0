package io.avance.testkit.hypervisor;

import io.avance.api.replication.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.CRC32C;

/**
 * The kv guest's log of PUTs on its first disk: records back to back from offset 0 of the log
 * area ({@link GuestLayout#logAreaBytes}).
 *
 * <pre>
 *  +0   int    magic 0xAB5E4B4C (its first byte is not printable ASCII, so no
 *              leftover piece of a key or value can look like the start of a record)
 *  +4   long   sequence number: 1 for the first record, then each one more
 *  +12  byte   key length (1-64)
 *  +13  short  value length (1-184)
 *  +15  key bytes, then value bytes
 *  +15+k+v int CRC32C of every byte before it
 * </pre>
 * Replay reads from offset 0 and stops at the first record that is not exactly right: another
 * magic (the zeros after the last record), a length out of bounds, a record that would cross
 * the end of the log area, a sequence number that is not the previous one plus one, or a bad
 * CRC (a record torn by a crash). The next append goes where replay stopped, so a torn record,
 * which was never acknowledged, is overwritten.
 *
 * <p>Each append is one write with FUA: when it completes, the record is durable on both nodes
 * of the pair, and only then does the guest acknowledge the PUT. Not thread-safe: the guest
 * appends from one thread at a time.
 */
final class KvLog {

    static final int MAGIC = 0xAB5E4B4C;
    static final int HEADER_BYTES = 15;
    static final int TRAILER_BYTES = 4;
    static final int MAX_RECORD_BYTES = HEADER_BYTES + KvTable.MAX_KEY + KvTable.MAX_VALUE + TRAILER_BYTES;
    /** How long one disk operation may take before the guest gives up on it. */
    static final Duration DISK_TIMEOUT = Duration.ofSeconds(30);

    private static final int READ_WINDOW = 1 << 20;

    private final Volume disk;
    private final long areaBytes;
    private long appendOffset;
    private long lastSequence;

    KvLog(Volume disk, long appendOffset, long lastSequence) {
        this.disk = disk;
        this.areaBytes = GuestLayout.logAreaBytes(disk.sizeBytes());
        this.appendOffset = appendOffset;
        this.lastSequence = lastSequence;
    }

    /** @return where the next record goes */
    long appendOffset() {
        return appendOffset;
    }

    /** @return the sequence number of the last record written */
    long lastSequence() {
        return lastSequence;
    }

    /** @return the size of the log area */
    long areaBytes() {
        return areaBytes;
    }

    /**
     * Tells whether one more record of these lengths fits.
     *
     * @param keyLength   the key's length
     * @param valueLength the value's length
     * @return true if it fits before the end of the log area
     */
    boolean fits(int keyLength, int valueLength) {
        return appendOffset + HEADER_BYTES + keyLength + valueLength + TRAILER_BYTES <= areaBytes;
    }

    /**
     * Appends a record with FUA and waits until it is durable on both nodes.
     *
     * @param key   the key
     * @param value the value
     * @return the record's sequence number
     * @throws IOException          if the disk refused or failed the write, or did not answer in
     *                              time; the log does not advance
     * @throws InterruptedException if the guest is being destroyed
     */
    long append(byte[] key, byte[] value) throws IOException, InterruptedException {
        long sequence = lastSequence + 1;
        ByteBuffer record = encode(sequence, key, value);
        int length = record.remaining();
        await(disk.write(appendOffset, record, true).toCompletableFuture(), "write of log record " + sequence);
        appendOffset += length;
        lastSequence = sequence;
        return sequence;
    }

    /**
     * Encodes one record.
     *
     * @param sequence its sequence number
     * @param key      the key
     * @param value    the value
     * @return the record, ready to read
     */
    static ByteBuffer encode(long sequence, byte[] key, byte[] value) {
        ByteBuffer record = ByteBuffer.allocate(HEADER_BYTES + key.length + value.length + TRAILER_BYTES);
        record.putInt(MAGIC).putLong(sequence).put((byte) key.length).putShort((short) value.length)
                .put(key).put(value);
        CRC32C crc = new CRC32C();
        crc.update(record.array(), 0, record.position());
        record.putInt((int) crc.getValue());
        return record.flip();
    }

    /** Receives each record replay finds. */
    interface Replayer {
        /**
         * Applies one record.
         *
         * @param sequence its sequence number
         * @param key      the key
         * @param value    the value
         */
        void apply(long sequence, byte[] key, byte[] value);
    }

    /**
     * Replays the log from its start.
     *
     * @param disk     the guest's first disk
     * @param replayer receives each good record, in order
     * @return the log positioned after the last good record
     * @throws IOException          if the disk cannot be read
     * @throws InterruptedException if the guest is being destroyed
     */
    static KvLog replay(Volume disk, Replayer replayer) throws IOException, InterruptedException {
        long area = GuestLayout.logAreaBytes(disk.sizeBytes());
        ByteBuffer window = ByteBuffer.allocate(READ_WINDOW);
        window.limit(0);
        long windowStart = 0;
        long offset = 0;
        long sequence = 0;
        CRC32C crc = new CRC32C();
        while (true) {
            // Keep at least one whole record in the window, reading on as the log goes.
            int inWindow = (int) (offset - windowStart);
            if (window.limit() - inWindow < MAX_RECORD_BYTES && windowStart + window.limit() < area) {
                window.position(inWindow);
                window.compact();
                windowStart = offset;
                int want = (int) Math.min(window.remaining(), area - (windowStart + window.position()));
                ByteBuffer slice = window.slice(window.position(), want);
                await(disk.read(windowStart + window.position(), slice).toCompletableFuture(),
                        "read of the log at " + (windowStart + window.position()));
                window.limit(window.position() + want);
                window.position(0);
                inWindow = 0;
            }
            int available = window.limit() - inWindow;
            if (available < HEADER_BYTES || window.getInt(inWindow) != MAGIC) {
                break;
            }
            long recordSequence = window.getLong(inWindow + 4);
            int keyLength = window.get(inWindow + 12) & 0xFF;
            int valueLength = window.getShort(inWindow + 13);
            int length = HEADER_BYTES + keyLength + valueLength + TRAILER_BYTES;
            if (recordSequence != sequence + 1 || keyLength < 1 || keyLength > KvTable.MAX_KEY
                    || valueLength < 1 || valueLength > KvTable.MAX_VALUE || length > available
                    || offset + length > area) {
                break;
            }
            crc.reset();
            crc.update(window.array(), inWindow, length - TRAILER_BYTES);
            if ((int) crc.getValue() != window.getInt(inWindow + length - TRAILER_BYTES)) {
                break;
            }
            byte[] key = new byte[keyLength];
            byte[] value = new byte[valueLength];
            window.get(inWindow + HEADER_BYTES, key);
            window.get(inWindow + HEADER_BYTES + keyLength, value);
            replayer.apply(recordSequence, key, value);
            sequence = recordSequence;
            offset += length;
        }
        return new KvLog(disk, offset, sequence);
    }

    static void await(java.util.concurrent.CompletableFuture<Void> operation, String what)
            throws IOException, InterruptedException {
        try {
            operation.get(DISK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IOException(what + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(what + " did not complete within " + DISK_TIMEOUT.toSeconds() + " s", e);
        }
    }
}
