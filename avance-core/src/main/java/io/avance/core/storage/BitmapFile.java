package io.avance.core.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A dirty bitmap's durable copy: a 64-byte header, then the words, little-endian.
 *
 * <pre>
 * u32 magic "AVBM" | u32 version 1 | u32 block size | u64 blocks | padding to 64 | words...
 * </pre>
 *
 * Parts are rewritten in place (an extent's words when it leaves the activity log, everything at a
 * clean shutdown). A torn write can only leave a word as it was or as it was going to be, and a
 * word changes to having more bits set only while its extent is in the activity log, which covers
 * the whole extent after a crash: so the durable bitmap, with the log, never misses a dirty block.
 * Not thread-safe.
 */
public final class BitmapFile implements AutoCloseable {

    private static final int MAGIC = 0x4156424D;
    private static final int HEADER = 64;

    private final FileChannel channel;
    private final DirtyBitmap bitmap;

    /**
     * Opens (or creates) the file for a bitmap.
     *
     * @param file   the file
     * @param bitmap the in-memory bitmap it mirrors
     * @throws IOException if it cannot be opened, or belongs to a differently sized bitmap
     */
    public BitmapFile(Path file, DirtyBitmap bitmap) throws IOException {
        this.bitmap = bitmap;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        if (channel.size() == 0) {
            ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(MAGIC).putInt(1).putInt(bitmap.blockSizeBytes()).putLong(bitmap.blocks()).clear();
            channel.write(header, 0);
            writeAll();
        } else {
            ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(header, 0);
            if (header.getInt(0) != MAGIC || header.getInt(8) != bitmap.blockSizeBytes()
                    || header.getLong(12) != bitmap.blocks()) {
                channel.close();
                throw new IOException(file + " is not the bitmap of this volume");
            }
        }
    }

    /**
     * Reads the durable words into the bitmap (OR-ing them in).
     *
     * @throws IOException if the read fails
     */
    public void loadInto() throws IOException {
        long[] words = new long[bitmap.words().length];
        ByteBuffer bytes = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        long position = HEADER;
        while (bytes.hasRemaining()) {
            int read = channel.read(bytes, position);
            if (read < 0) {
                break;
            }
            position += read;
        }
        bytes.flip();
        for (int i = 0; i < words.length && bytes.remaining() >= 8; i++) {
            words[i] = bytes.getLong();
        }
        bitmap.or(words);
    }

    /**
     * Writes the words covering a range of blocks, and fsyncs.
     *
     * @param fromBlock first block
     * @param toBlock   end block, exclusive
     * @throws IOException if the write fails
     */
    public void write(long fromBlock, long toBlock) throws IOException {
        writeWithoutSync(fromBlock, toBlock);
        channel.force(false);
    }

    /**
     * Writes the words covering a range of blocks, without waiting for them to be durable: several
     * ranges, then one {@link #sync()}.
     *
     * @param fromBlock first block
     * @param toBlock   end block, exclusive
     * @throws IOException if the write fails
     */
    public void writeWithoutSync(long fromBlock, long toBlock) throws IOException {
        int firstWord = (int) (fromBlock >>> 6);
        int endWord = (int) Math.min(bitmap.words().length, (toBlock + 63) >>> 6);
        if (endWord <= firstWord) {
            return;
        }
        ByteBuffer bytes = ByteBuffer.allocate((endWord - firstWord) * 8).order(ByteOrder.LITTLE_ENDIAN);
        long[] words = bitmap.words();
        for (int i = firstWord; i < endWord; i++) {
            bytes.putLong(words[i]);
        }
        bytes.flip();
        long position = HEADER + (long) firstWord * 8;
        while (bytes.hasRemaining()) {
            position += channel.write(bytes, position);
        }
    }

    /**
     * Makes every word written so far durable.
     *
     * @throws IOException if the fsync fails
     */
    public void sync() throws IOException {
        channel.force(false);
    }

    /**
     * Writes every word, and fsyncs.
     *
     * @throws IOException if the write fails
     */
    public void writeAll() throws IOException {
        write(0, bitmap.blocks());
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
