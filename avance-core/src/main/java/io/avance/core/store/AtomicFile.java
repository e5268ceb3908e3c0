package io.avance.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Replaces a file's content atomically and durably.
 *
 * <p>The recipe: write a temporary file in the same directory, fsync it, rename it over the
 * target (atomic on POSIX file systems), then fsync the directory so that the rename itself
 * survives a power loss. Not thread-safe for concurrent writers of the same path; callers
 * serialise their writes.
 */
public final class AtomicFile {

    private AtomicFile() {
    }

    /**
     * Replaces the content of {@code target}.
     *
     * @param target  the file
     * @param content the new content
     * @throws UncheckedIOException if any step fails; the old content is then intact
     */
    public static void write(Path target, byte[] content) {
        Path directory = target.toAbsolutePath().getParent();
        Path temporary = directory.resolve("." + target.getFileName() + ".tmp");
        try {
            Files.createDirectories(directory);
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system of " + directory + " cannot rename atomically", e);
            }
            fsyncDirectory(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + target + " durably", e);
        }
    }

    /**
     * Reads a whole file.
     *
     * @param source the file
     * @return its content, or empty if it does not exist
     * @throws UncheckedIOException if it exists and cannot be read
     */
    public static Optional<byte[]> read(Path source) {
        try {
            return Optional.of(Files.readAllBytes(source));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + source, e);
        }
    }

    /**
     * Makes a directory's entries (files created, renamed or removed in it) durable.
     *
     * @param directory the directory
     * @throws IOException if the directory cannot be opened or synced
     */
    public static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
