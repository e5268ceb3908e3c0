package io.avance.core.journal;

import io.avance.api.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An append-only journal of actions, one JSON object per line:
 *
 * <pre>
 * {"time":"2026-11-25T10:15:30.123Z","node":"alpha","actor":"system","action":"takeover",
 *  "detail":"epoch 3: the primary has been silent on every path for 512 ms","outcome":"primary"}
 * </pre>
 *
 * <p>{@link #record} never blocks on the disk: entries are queued and a writer thread appends and
 * fsyncs them in batches. {@link #flush(long)} waits until everything recorded so far is durable.
 * When the file passes its size limit it is renamed with the time of rotation and a new one is
 * started; old files are kept, never truncated. Thread-safe.
 */
public final class AuditJournal implements AutoCloseable {

    /** The current journal's file name. */
    public static final String FILE_NAME = "audit.log";

    private static final Logger LOG = System.getLogger(AuditJournal.class.getName());
    private static final long ROTATE_BYTES = 16L << 20;

    private final long rotateBytes;

    private final Path directory;
    private final NodeId node;
    private final Clock wallClock;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;
    private FileChannel channel;

    /**
     * One journal entry.
     *
     * @param time    when
     * @param node    on which node
     * @param actor   who: {@code system} for the engine, or a user name
     * @param action  what kind of action
     * @param detail  to what, and why
     * @param outcome what came of it
     */
    public record Entry(Instant time, NodeId node, String actor, String action, String detail, String outcome) {
    }

    /**
     * Opens (or creates) the journal in a directory and starts its writer.
     *
     * @param directory the node's data directory
     * @param node      the node
     * @param wallClock for entry times
     */
    public AuditJournal(Path directory, NodeId node, Clock wallClock) {
        this(directory, node, wallClock, ROTATE_BYTES);
    }

    /**
     * Opens (or creates) the journal with a rotation size of its own (tests rotate small files).
     *
     * @param directory   the node's data directory
     * @param node        the node
     * @param wallClock   for entry times
     * @param rotateBytes the size past which the file is rotated
     */
    public AuditJournal(Path directory, NodeId node, Clock wallClock, long rotateBytes) {
        if (rotateBytes < 1) {
            throw new IllegalArgumentException("rotateBytes must be positive");
        }
        this.rotateBytes = rotateBytes;
        this.directory = Objects.requireNonNull(directory);
        this.node = Objects.requireNonNull(node);
        this.wallClock = Objects.requireNonNull(wallClock);
        try {
            Files.createDirectories(directory);
            this.channel = open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the audit journal in " + directory, e);
        }
        this.writer = new Thread(this::writeLoop, "avance-journal-" + node);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    private FileChannel open() throws IOException {
        return FileChannel.open(directory.resolve(FILE_NAME), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
    }

    /**
     * Records an entry. Returns at once.
     *
     * @param actor   who acted: {@code system} or a user
     * @param action  the kind of action
     * @param detail  to what and why
     * @param outcome what came of it
     */
    public void record(String actor, String action, String detail, String outcome) {
        Entry entry = new Entry(wallClock.instant(), node, actor, action, detail, outcome);
        if (closed) {
            LOG.log(Level.WARNING, "audit journal closed; not recorded: {0}", toJson(entry));
            return;
        }
        queue.add(entry);
    }

    /**
     * Waits until every entry recorded before the call is on disk.
     *
     * @param timeoutMillis how long to wait
     * @return true if flushed in time
     */
    public boolean flush(long timeoutMillis) {
        CountDownLatch done = new CountDownLatch(1);
        queue.add(done);
        try {
            return done.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Reads every entry of the current journal file.
     *
     * @return the entries' JSON lines, oldest first
     */
    public List<String> readLines() {
        flush(5_000);
        try {
            return Files.readAllLines(directory.resolve(FILE_NAME), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every journal file, oldest first: the rotated ones ({@code audit-TIME.log}) and the current one.
     *
     * @return the files' paths
     */
    public List<Path> files() {
        flush(5_000);
        List<Path> files = new ArrayList<>();
        try (java.util.stream.Stream<Path> listing = Files.list(directory)) {
            listing.filter(p -> {
                String name = p.getFileName().toString();
                return name.startsWith("audit-") && name.endsWith(".log");
            }).sorted().forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.add(directory.resolve(FILE_NAME));
        return files;
    }

    /**
     * Reads entries newest first, across rotated files, keeping those a filter accepts.
     * Lines that do not parse (a torn last line after a crash) are skipped.
     *
     * @param filter which entries to keep
     * @param limit  at most this many
     * @return the entries, newest first
     */
    public List<Entry> read(java.util.function.Predicate<Entry> filter, int limit) {
        List<Entry> found = new ArrayList<>();
        List<Path> files = files();
        for (int f = files.size() - 1; f >= 0 && found.size() < limit; f--) {
            List<String> lines;
            try {
                lines = Files.exists(files.get(f)) ? Files.readAllLines(files.get(f), StandardCharsets.UTF_8) : List.of();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (int i = lines.size() - 1; i >= 0 && found.size() < limit; i--) {
                Entry entry = parse(lines.get(i));
                if (entry != null && filter.test(entry)) {
                    found.add(entry);
                }
            }
        }
        return found;
    }

    /**
     * Parses one journal line.
     *
     * @param line a line written by {@link #toJson}
     * @return the entry, or null if the line is not one
     */
    public static Entry parse(String line) {
        try {
            java.util.Map<String, String> members = io.avance.core.json.FlatJson.parse(line);
            return new Entry(Instant.parse(members.get("time")), NodeId.of(members.get("node")),
                    members.getOrDefault("actor", ""), members.getOrDefault("action", ""),
                    members.getOrDefault("detail", ""), members.getOrDefault("outcome", ""));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void writeLoop() {
        List<Object> batch = new ArrayList<>();
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                if (closed && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            queue.drainTo(batch);
            List<CountDownLatch> waiters = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            boolean stop = false;
            for (Object item : batch) {
                if (item instanceof Entry entry) {
                    text.append(toJson(entry)).append('\n');
                } else if (item instanceof CountDownLatch latch) {
                    waiters.add(latch);
                } else {
                    stop = true;
                }
            }
            batch.clear();
            if (text.length() > 0) {
                write(text.toString());
            }
            waiters.forEach(CountDownLatch::countDown);
            if (stop) {
                return;
            }
        }
    }

    private void write(String text) {
        try {
            ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(false);
            if (channel.size() > rotateBytes) {
                rotate();
            }
        } catch (IOException e) {
            LOG.log(Level.ERROR, "cannot write the audit journal; lost: " + text, e);
        }
    }

    private void rotate() throws IOException {
        channel.close();
        String stamp = wallClock.instant().toString().replace(':', '-');
        Path target = directory.resolve("audit-" + stamp + ".log");
        // Two rotations in one clock tick must not overwrite each other: old entries are never lost.
        for (int n = 1; Files.exists(target); n++) {
            target = directory.resolve("audit-" + stamp + "." + n + ".log");
        }
        Files.move(directory.resolve(FILE_NAME), target);
        channel = open();
        LOG.log(Level.INFO, "audit journal rotated to audit-{0}.log", stamp);
    }

    /**
     * Formats an entry as its JSON line.
     *
     * @param entry the entry
     * @return one line of JSON, without the line break
     */
    public static String toJson(Entry entry) {
        return "{\"time\":\"" + entry.time() + "\",\"node\":" + quote(entry.node().value()) + ",\"actor\":"
                + quote(entry.actor()) + ",\"action\":" + quote(entry.action()) + ",\"detail\":" + quote(entry.detail())
                + ",\"outcome\":" + quote(entry.outcome()) + "}";
    }

    /**
     * Quotes a string for JSON.
     *
     * @param text the string
     * @return it in double quotes, escaped
     */
    public static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush(5_000);
        closed = true;
        queue.add(Boolean.TRUE);
        try {
            writer.join(5_000);
            channel.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing the audit journal", e);
        }
    }
}
