package io.avance.core.callhome;

import io.avance.core.store.AtomicFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The persistent queue of call-home events: one file per event in {@code callhome/outbox/},
 * named {@code SEQUENCE-ID.json} so that a listing sorts in the order they were queued. A file
 * is written atomically and fsynced before {@link #add} returns, and removed only after the
 * endpoint acknowledged it, so nothing is lost to a crash or an outage, and a crash between
 * sending and removing sends the event again (with the same id). Thread-safe.
 */
final class CallHomeOutbox {

    /** One queued event. */
    record Item(Path file, String id, String json) {
    }

    private final Path directory;
    private long sequence;

    CallHomeOutbox(Path dataDirectory) {
        this.directory = dataDirectory.resolve("callhome").resolve("outbox");
        try {
            Files.createDirectories(directory);
            for (Path file : files()) {
                sequence = Math.max(sequence, Long.parseLong(file.getFileName().toString().substring(0, 20)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the call-home outbox in " + directory, e);
        }
    }

    synchronized void add(String id, String json) {
        sequence++;
        Path file = directory.resolve(String.format("%020d-%s.json", sequence, id));
        AtomicFile.write(file, json.getBytes(StandardCharsets.UTF_8));
    }

    /** The oldest queued event. */
    synchronized Optional<Item> oldest() {
        try {
            for (Path file : files()) {
                String name = file.getFileName().toString();
                String id = name.substring(21, name.length() - ".json".length());
                Optional<byte[]> bytes = AtomicFile.read(file);
                if (bytes.isPresent()) {
                    return Optional.of(new Item(file, id, new String(bytes.get(), StandardCharsets.UTF_8)));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized void remove(Item item) {
        try {
            Files.deleteIfExists(item.file());
            AtomicFile.fsyncDirectory(directory);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized int size() {
        try {
            return files().size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> listing = Files.list(directory)) {
            List<Path> files = new ArrayList<>(listing.filter(p -> p.getFileName().toString()
                    .matches("\\d{20}-[A-Za-z0-9-]+\\.json")).sorted().toList());
            return files;
        }
    }
}
