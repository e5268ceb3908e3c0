package io.avance.core.availability;

import io.avance.core.json.FlatJson;
import io.avance.core.json.JsonWriter;
import io.avance.core.store.AtomicFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Records the pair's outages as one node observes them, and computes availability from them.
 *
 * <p>The node reports what it sees a few times a second ({@link #observe}): this node serves,
 * its peer is heard serving, nobody serves, or this node cannot tell (it is starting, or
 * isolated). An outage runs from the last moment the pair was known to serve to the first
 * moment it serves again, and it is recorded by the node that serves at its end, the one that
 * saw both ends:
 *
 * <pre>
 *   SERVING or PEER_SERVING ----NOT_SERVING----&gt; IN_OUTAGE (opened at the last serving moment)
 *   IN_OUTAGE --SERVING (this node)--&gt; recorded
 *   IN_OUTAGE --PEER_SERVING--&gt; dropped (the peer serves: it records the outage, if it saw one,
 *                                or it served all along and this node only lost sight of it)
 *   UNKNOWN changes nothing.
 * </pre>
 *
 * <p>The last serving moment is kept in the data directory (at most every few seconds and at
 * every change), so an outage that took both nodes down is measured from before the stop to
 * the first serving moment after the start. A node that starts alone and serves does not count
 * the time before its start: it cannot know whether its peer served meanwhile.
 *
 * <p>Files: {@code availability/outages.log} (one JSON object per outage, appended and fsynced,
 * never rewritten), {@code availability/mark} (the last serving moment and its epoch) and
 * {@code availability/since} (when recording began). Thread-safe.
 */
public final class AvailabilityRecorder {

    /** What one observation says about the pair. */
    public enum Observation {
        /** This node serves. */
        SERVING,
        /** The peer is heard serving, as its epoch's primary. */
        PEER_SERVING,
        /** No node serves, as far as this node can tell. */
        NOT_SERVING,
        /** This node cannot tell (starting, isolated). */
        UNKNOWN
    }

    /**
     * One outage.
     *
     * @param start when the pair was last known to serve
     * @param end   when it served again
     * @param cause what ended it, in a sentence
     */
    public record Outage(Instant start, Instant end, String cause) {
        /** @return how long it lasted */
        public Duration duration() {
            return Duration.between(start, end);
        }
    }

    private static final Duration MARK_INTERVAL = Duration.ofSeconds(5);

    private final Path directory;
    private final Clock clock;
    private final Instant since;
    private final List<Outage> outages = new ArrayList<>();
    private Instant lastServing;
    private long lastServingEpoch = -1;
    private Instant lastMarkWritten = Instant.MIN;
    private Instant openSince;

    /**
     * Opens the record in a node's data directory.
     *
     * @param dataDirectory the node's data directory
     * @param clock         the wall clock (outages are shown as dates)
     */
    public AvailabilityRecorder(Path dataDirectory, Clock clock) {
        this.directory = dataDirectory.resolve("availability");
        this.clock = Objects.requireNonNull(clock);
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Optional<byte[]> sinceText = AtomicFile.read(directory.resolve("since"));
        if (sinceText.isPresent()) {
            since = Instant.parse(new String(sinceText.get(), StandardCharsets.UTF_8).trim());
        } else {
            since = clock.instant();
            AtomicFile.write(directory.resolve("since"), since.toString().getBytes(StandardCharsets.UTF_8));
        }
        AtomicFile.read(directory.resolve("mark")).ifPresent(bytes -> {
            String[] parts = new String(bytes, StandardCharsets.UTF_8).trim().split(" ");
            lastServing = Instant.parse(parts[0]);
            lastServingEpoch = parts.length > 1 ? Long.parseLong(parts[1]) : -1;
        });
        Path log = directory.resolve("outages.log");
        if (Files.exists(log)) {
            try {
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    try {
                        Map<String, String> members = FlatJson.parse(line);
                        outages.add(new Outage(Instant.parse(members.get("start")), Instant.parse(members.get("end")),
                                members.getOrDefault("cause", "")));
                    } catch (RuntimeException e) {
                        // A torn last line from a crash mid-append: the outage it described is lost,
                        // the others stand.
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Takes one observation.
     *
     * @param observation what the node sees
     * @param epoch       the epoch the serving node serves in, for the serving observations
     * @param cause       what the pair is doing, used as the cause of an outage this observation ends
     * @return the outage this observation ended and recorded, if any
     */
    public synchronized Optional<Outage> observe(Observation observation, long epoch, String cause) {
        Instant now = clock.instant();
        switch (observation) {
            case SERVING, PEER_SERVING -> {
                Optional<Outage> ended = Optional.empty();
                if (openSince != null && observation == Observation.SERVING) {
                    Outage outage = new Outage(openSince, now, cause);
                    append(outage);
                    ended = Optional.of(outage);
                }
                openSince = null;
                boolean changed = epoch != lastServingEpoch;
                lastServing = now;
                lastServingEpoch = epoch;
                if (changed || ended.isPresent() || Duration.between(lastMarkWritten, now).compareTo(MARK_INTERVAL) >= 0) {
                    AtomicFile.write(directory.resolve("mark"), (now + " " + epoch).getBytes(StandardCharsets.UTF_8));
                    lastMarkWritten = now;
                }
                return ended;
            }
            case NOT_SERVING -> {
                if (openSince == null) {
                    openSince = lastServing != null ? lastServing : now;
                }
                return Optional.empty();
            }
            default -> {
                return Optional.empty();
            }
        }
    }

    private void append(Outage outage) {
        outages.add(outage);
        String line = new JsonWriter().beginObject().name("start").value(outage.start().toString())
                .name("end").value(outage.end().toString()).name("seconds").value(outage.duration().toMillis() / 1000.0)
                .name("cause").value(outage.cause()).endObject() + "\n";
        try (FileChannel channel = FileChannel.open(directory.resolve("outages.log"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record an outage in " + directory, e);
        }
    }

    /**
     * The recorded outages, oldest first, with the one under way (ending now) last if there is one.
     *
     * @return a snapshot
     */
    public synchronized List<Outage> outages() {
        List<Outage> all = new ArrayList<>(outages);
        if (openSince != null) {
            all.add(new Outage(openSince, clock.instant(), "under way"));
        }
        return all;
    }

    /**
     * Whether an outage is under way, as this node sees it.
     *
     * @return true while the pair does not serve
     */
    public synchronized boolean inOutage() {
        return openSince != null;
    }

    /**
     * When recording began on this node.
     *
     * @return the first start's time
     */
    public Instant since() {
        return since;
    }

    /**
     * The fraction of a window in which the pair served. The window is cut to the time since
     * recording began, so a new pair is not credited with uptime nobody saw.
     *
     * @param window such as 30 days
     * @return from 0 to 1
     */
    public synchronized double availability(Duration window) {
        Instant now = clock.instant();
        Instant start = now.minus(window);
        if (start.isBefore(since)) {
            start = since;
        }
        long total = Duration.between(start, now).toMillis();
        if (total <= 0) {
            return 1.0;
        }
        long down = 0;
        for (Outage outage : outages()) {
            Instant from = outage.start().isBefore(start) ? start : outage.start();
            Instant to = outage.end().isAfter(now) ? now : outage.end();
            if (to.isAfter(from)) {
                down += Duration.between(from, to).toMillis();
            }
        }
        return Math.max(0, 1.0 - (double) down / total);
    }

    /**
     * The downtime within a window.
     *
     * @param window such as 365 days
     * @return the sum of the outages' parts inside it
     */
    public synchronized Duration downtime(Duration window) {
        Instant now = clock.instant();
        Instant start = now.minus(window);
        Duration down = Duration.ZERO;
        for (Outage outage : outages()) {
            Instant from = outage.start().isBefore(start) ? start : outage.start();
            Instant to = outage.end().isAfter(now) ? now : outage.end();
            if (to.isAfter(from)) {
                down = down.plus(Duration.between(from, to));
            }
        }
        return down;
    }
}
