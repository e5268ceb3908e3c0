package io.avance.core.bundle;

import io.avance.core.config.NodeConfig;
import io.avance.core.node.AvanceNode;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.RuntimeMXBean;
import java.lang.management.ThreadInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a diagnostic bundle: one zip that a support engineer can read without access to the
 * site.
 *
 * <pre>
 *   MANIFEST.txt           what is inside, when and where it was made
 *   config.txt             the node's validated configuration (secrets redacted)
 *   config-file.properties the configuration file, if known, with secret values replaced
 *   health.json            the pair snapshot: both nodes, faults, paths, VMs, volumes, availability
 *   events.txt             the recent events, faults raised and cleared among them
 *   availability/          the outage record
 *   journal/               every audit journal file, rotated ones included
 *   logs/process.log       this process's recent log records
 *   logs/...               the log files named by bundle.logs
 *   metrics.txt            every meter's current values (Prometheus text when available)
 *   threads.txt            a dump of every thread with full stacks and locks
 *   system.txt             JVM, OS, memory and disk facts
 * </pre>
 *
 * <p>Secrets never enter the bundle: the pairing secret (in every encoding the configuration
 * accepts), the configured passwords and any value of a key named like a secret are replaced by
 * {@code <redacted>} in every text entry; the monitor's users file and key store are not
 * included. Files larger than 16 MiB are cut to their last 16 MiB, and the cut is said in the
 * entry. Thread-safe (each call writes its own zip).
 */
public final class DiagnosticBundle {

    private static final long MAX_FILE_BYTES = 16L << 20;
    private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(secret|password|passphrase|token|credential).*");

    private final AvanceNode node;
    private final Optional<Path> configFile;
    private final Supplier<String> health;
    private final Supplier<List<String>> events;
    private final Supplier<Optional<String>> prometheus;
    private final Optional<LogBuffer> logs;
    private final List<String> secrets;
    private final java.time.Clock clock;

    /**
     * Collects the sources of a node's bundles.
     *
     * @param node       the node
     * @param configFile the configuration file it was read from, if known
     * @param health     the pair snapshot as JSON
     * @param events     the recent events, one line each
     * @param prometheus the metrics in Prometheus text, if the registry is a Prometheus one
     * @param logs       the process's recent log records, if captured
     * @param clock      the wall clock, for the bundle's time
     */
    public DiagnosticBundle(AvanceNode node, Optional<Path> configFile, Supplier<String> health,
                            Supplier<List<String>> events, Supplier<Optional<String>> prometheus,
                            Optional<LogBuffer> logs, java.time.Clock clock) {
        this.clock = Objects.requireNonNull(clock);
        this.node = Objects.requireNonNull(node);
        this.configFile = Objects.requireNonNull(configFile);
        this.health = Objects.requireNonNull(health);
        this.events = Objects.requireNonNull(events);
        this.prometheus = Objects.requireNonNull(prometheus);
        this.logs = Objects.requireNonNull(logs);
        this.secrets = secrets(node.config());
    }

    private static List<String> secrets(NodeConfig config) {
        List<String> secrets = new ArrayList<>();
        byte[] pairing = config.pairingSecret();
        if (pairing.length > 0) {
            secrets.add(HexFormat.of().formatHex(pairing));
            secrets.add(HexFormat.of().withUpperCase().formatHex(pairing));
            secrets.add(Base64.getEncoder().encodeToString(pairing));
            secrets.add(Base64.getEncoder().withoutPadding().encodeToString(pairing));
        }
        config.operations().monitor().ifPresent(m -> secrets.add(m.keystorePassword()));
        config.operations().alerts().flatMap(a -> a.password()).ifPresent(secrets::add);
        config.operations().callHome().ifPresent(c -> secrets.add(c.truststorePassword()));
        secrets.removeIf(secret -> secret == null || secret.length() < 4);
        return secrets;
    }

    /**
     * Writes a bundle into a file; a directory gets a file named after the node and the time.
     *
     * @param target a file or directory (a mounted USB stick)
     * @return the file written
     * @throws IOException if it cannot be written
     */
    public Path writeTo(Path target) throws IOException {
        Path file = target;
        if (Files.isDirectory(target)) {
            file = target.resolve("avance-" + node.id().value() + "-" + clock.instant().toString().replace(':', '-')
                    + ".zip");
        }
        Path temporary = file.resolveSibling(file.getFileName() + ".partial");
        try (OutputStream out = Files.newOutputStream(temporary)) {
            write(out);
        }
        Files.move(temporary, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return file;
    }

    /**
     * Writes a bundle.
     *
     * @param out where the zip goes; not closed
     * @throws IOException if it cannot be written
     */
    public void write(OutputStream out) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(new java.io.FilterOutputStream(out) {
            @Override
            public void close() throws IOException {
                flush();
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws IOException {
                out.write(bytes, offset, length);
            }
        });
        List<String> contents = new ArrayList<>();
        Instant now = clock.instant();
        text(zip, contents, "config.txt", node.config().toString().replace(", ", ",\n  "));
        if (configFile.isPresent() && Files.isRegularFile(configFile.get())) {
            text(zip, contents, "config-file.properties", redactProperties(Files.readString(configFile.get(),
                    StandardCharsets.UTF_8)));
        }
        text(zip, contents, "health.json", safely(health::get));
        text(zip, contents, "events.txt", String.join("\n", safely(events::get, List.of())) + "\n");
        Path availability = node.config().dataDirectory().resolve("availability").resolve("outages.log");
        if (Files.exists(availability)) {
            file(zip, contents, "availability/outages.log", availability);
        }
        for (Path journal : journalFiles()) {
            if (Files.exists(journal)) {
                file(zip, contents, "journal/" + journal.getFileName(), journal);
            }
        }
        logs.ifPresent(buffer -> {
            try {
                text(zip, contents, "logs/process.log", String.join("\n", buffer.lines()) + "\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        for (Path log : node.config().operations().bundle().logFiles()) {
            if (Files.isDirectory(log)) {
                try (Stream<Path> listing = Files.list(log)) {
                    for (Path file : listing.filter(Files::isRegularFile).sorted().toList()) {
                        file(zip, contents, "logs/" + log.getFileName() + "/" + file.getFileName(), file);
                    }
                }
            } else if (Files.isRegularFile(log)) {
                file(zip, contents, "logs/" + log.getFileName(), log);
            }
        }
        text(zip, contents, "metrics.txt", metrics());
        text(zip, contents, "threads.txt", threadDump());
        text(zip, contents, "system.txt", system());
        text(zip, contents, "MANIFEST.txt", "Avance diagnostic bundle\nnode: " + node.id() + "\nrole: " + node.role()
                + "\nmade: " + now + "\n\n" + String.join("\n", contents) + "\n");
        zip.finish();
        zip.flush();
    }

    /** The journal's files: from the running journal, or from the data directory (the node runs elsewhere). */
    private List<Path> journalFiles() throws IOException {
        if (node.journal() != null) {
            return node.journal().files();
        }
        Path directory = node.config().dataDirectory();
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> listing = Files.list(directory)) {
            return listing.filter(p -> p.getFileName().toString().matches("audit(-.*)?\\.log")).sorted().toList();
        }
    }

    private static <T> T safely(Supplier<T> supplier, T otherwise) {
        try {
            return supplier.get();
        } catch (RuntimeException e) {
            return otherwise;
        }
    }

    private static String safely(Supplier<String> supplier) {
        try {
            return supplier.get();
        } catch (RuntimeException e) {
            return "{\"error\":\"" + e.toString().replace("\"", "'") + "\"}";
        }
    }

    private String redact(String text) {
        String result = text;
        for (String secret : secrets) {
            result = result.replace(secret, "<redacted>");
        }
        return result;
    }

    /** Replaces the values of keys named like secrets in a properties text. */
    static String redactProperties(String text) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            String trimmed = line.trim();
            int separator = indexOfSeparator(trimmed);
            if (!trimmed.startsWith("#") && !trimmed.startsWith("!") && separator > 0
                    && SECRET_KEY.matcher(trimmed.substring(0, separator)).matches()
                    && !trimmed.substring(0, separator).trim().endsWith("-file")) {
                out.append(trimmed, 0, separator).append("= <redacted>");
            } else {
                out.append(line);
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static int indexOfSeparator(String line) {
        int equals = line.indexOf('=');
        int colon = line.indexOf(':');
        if (equals < 0) {
            return colon;
        }
        return colon < 0 ? equals : Math.min(equals, colon);
    }

    private void text(ZipOutputStream zip, List<String> contents, String name, String text) throws IOException {
        byte[] bytes = redact(text).getBytes(StandardCharsets.UTF_8);
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
        contents.add(name + " (" + bytes.length + " bytes)");
    }

    private void file(ZipOutputStream zip, List<String> contents, String name, Path file) throws IOException {
        long size = Files.size(file);
        String text;
        if (size > MAX_FILE_BYTES) {
            try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file)) {
                java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate((int) MAX_FILE_BYTES);
                channel.read(tail, size - MAX_FILE_BYTES);
                text = "[cut: the first " + (size - MAX_FILE_BYTES) + " bytes of " + size + " are left out]\n"
                        + new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8);
            }
        } else {
            text = Files.readString(file, StandardCharsets.UTF_8);
        }
        text(zip, contents, name, text);
    }

    private String metrics() {
        Optional<String> text = safely(prometheus::get, Optional.empty());
        if (text.isPresent()) {
            return text.get();
        }
        StringBuilder out = new StringBuilder();
        for (Meter meter : node.meters().getMeters()) {
            out.append(meter.getId().getName()).append(meter.getId().getTags()).append(' ');
            for (Measurement measurement : meter.measure()) {
                out.append(measurement.getStatistic().name().toLowerCase(Locale.ROOT)).append('=')
                        .append(measurement.getValue()).append(' ');
            }
            out.append('\n');
        }
        return out.toString();
    }

    static String threadDump() {
        StringBuilder out = new StringBuilder();
        for (ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            out.append('"').append(thread.getThreadName()).append("\" id=").append(thread.getThreadId())
                    .append(thread.isDaemon() ? " daemon" : "").append(' ').append(thread.getThreadState());
            if (thread.getLockName() != null) {
                out.append(" on ").append(thread.getLockName());
            }
            if (thread.getLockOwnerName() != null) {
                out.append(" owned by \"").append(thread.getLockOwnerName()).append('"');
            }
            out.append('\n');
            StackTraceElement[] stack = thread.getStackTrace();
            for (int i = 0; i < stack.length; i++) {
                out.append("\tat ").append(stack[i]).append('\n');
                for (MonitorInfo monitor : thread.getLockedMonitors()) {
                    if (monitor.getLockedStackDepth() == i) {
                        out.append("\t- locked ").append(monitor).append('\n');
                    }
                }
            }
            for (LockInfo lock : thread.getLockedSynchronizers()) {
                out.append("\t- holds ").append(lock).append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }

    private String system() {
        RuntimeMXBean runtime = ManagementFactory.getRuntimeMXBean();
        Runtime memory = Runtime.getRuntime();
        StringBuilder out = new StringBuilder();
        out.append("java: ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version")).append('\n');
        out.append("os: ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
                .append(' ').append(System.getProperty("os.arch")).append('\n');
        out.append("processors: ").append(memory.availableProcessors()).append('\n');
        out.append("uptime: ").append(runtime.getUptime() / 1000).append(" s\n");
        out.append("heap: used ").append((memory.totalMemory() - memory.freeMemory()) >> 20).append(" MiB of ")
                .append(memory.maxMemory() >> 20).append(" MiB\n");
        out.append("arguments: ").append(runtime.getInputArguments()).append('\n');
        try {
            java.nio.file.FileStore store = Files.getFileStore(node.config().dataDirectory());
            out.append("data directory: ").append(node.config().dataDirectory()).append(", ")
                    .append(store.getUsableSpace() >> 20).append(" MiB free of ").append(store.getTotalSpace() >> 20)
                    .append(" MiB\n");
        } catch (IOException e) {
            out.append("data directory: ").append(e).append('\n');
        }
        return out.toString();
    }
}
