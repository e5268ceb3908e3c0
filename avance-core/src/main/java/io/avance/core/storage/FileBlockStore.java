package io.avance.core.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A volume in a file (created sparse) or on a block device.
 */
public final class FileBlockStore implements BlockStore {

    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final FileChannel channel;
    private final long size;
    private final boolean regularFile;

    private FileBlockStore(FileChannel channel, long size, boolean regularFile) {
        this.channel = channel;
        this.size = size;
        this.regularFile = regularFile;
    }

    /**
     * Opens a store, creating a sparse file of the given size if there is none.
     *
     * @param path      the file or block device
     * @param sizeBytes the expected size
     * @return the store
     * @throws IOException if it cannot be opened, or an existing file has another size
     */
    public static FileBlockStore open(Path path, long sizeBytes) throws IOException {
        boolean existed = Files.exists(path);
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            boolean regular = Files.isRegularFile(path);
            long actual = channel.size();
            if (regular && !existed) {
                // A sparse file: no blocks are allocated until written.
                channel.write(ByteBuffer.allocate(1), sizeBytes - 1);
                channel.force(true);
                actual = sizeBytes;
            }
            if (regular && existed && actual < sizeBytes && actual % 4096 == 0) {
                // A crash between the cut and the regrowth of a zeroing to the end of the file (see
                // writeZeroes): the missing tail was being zeroed, and reads as zeros once regrown.
                channel.write(ByteBuffer.allocate(1), sizeBytes - 1);
                channel.force(true);
                actual = sizeBytes;
            }
            if (regular && actual != sizeBytes) {
                throw new IOException(path + " holds " + actual + " bytes, the volume is " + sizeBytes);
            }
            if (!regular && actual < sizeBytes) {
                throw new IOException(path + " is smaller (" + actual + " bytes) than the volume (" + sizeBytes + ")");
            }
            return new FileBlockStore(channel, sizeBytes, regular);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer destination) throws IOException {
        long position = offset;
        while (destination.hasRemaining()) {
            int read = channel.read(destination, position);
            if (read < 0) {
                // Past the end of a sparse file: zeros.
                while (destination.hasRemaining()) {
                    destination.put((byte) 0);
                }
                return;
            }
            position += read;
        }
    }

    @Override
    public void write(long offset, ByteBuffer source) throws IOException {
        long position = offset;
        while (source.hasRemaining()) {
            position += channel.write(source, position);
        }
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        long end = offset + length;
        if (regularFile && end >= size && offset % 4096 == 0) {
            // Zeroing to the end of a file: cut it and grow it again, leaving a hole.
            channel.truncate(offset);
            channel.write(ByteBuffer.allocate(1), size - 1);
            return;
        }
        long position = offset;
        while (position < end) {
            ByteBuffer zeros = ZEROS.duplicate();
            zeros.limit((int) Math.min(ZERO_CHUNK, end - position));
            write(position, zeros);
            position += zeros.limit();
        }
    }

    @Override
    public void sync() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
