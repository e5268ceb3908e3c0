package io.avance.testkit.process;

import io.avance.api.PairRole;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A node running in its own JVM, for end-to-end tests and the demo.
 *
 * <p>Its standard output is parsed into {@link NodeEvent}s; its standard error (the node's log) goes
 * to a file. {@link #kill()} sends SIGKILL: the process gets no chance to close anything, as in
 * a power cut or a kernel panic. Thread-safe.
 */
public final class NodeProcess implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Writer commands;
    private final List<NodeEvent> events = new ArrayList<>();
    private final Path log;

    private NodeProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(this::readEvents, "node-events-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts a node process and waits until it is running.
     *
     * @param name    a name for threads and messages
     * @param config  the node's configuration file
     * @param log     where the node's log (standard error) goes
     * @param jvmArgs extra JVM arguments
     * @return the running process
     * @throws UncheckedIOException if it cannot be started
     * @throws AssertionError       if it does not report ready within 30 s
     */
    public static NodeProcess start(String name, Path config, Path log, List<String> jvmArgs) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-XX:+UseSerialGC");
        // Simulated guests keep their memory off-heap, allocated as they touch it.
        command.add("-XX:MaxDirectMemorySize=16g");
        command.add("-Djava.util.logging.SimpleFormatter.format=%1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(System.getProperty("avance.testkit.classpath", System.getProperty("java.class.path")));
        command.add(NodeProcessMain.class.getName());
        command.add(config.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        try {
            NodeProcess node = new NodeProcess(name, builder.start(), log);
            node.await(event -> event.type().equals("ready"), Duration.ofSeconds(30));
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node process " + name, e);
        }
    }

    private void readEvents() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                Optional<NodeEvent> event = NodeEvent.parse(line);
                if (event.isPresent()) {
                    synchronized (events) {
                        events.add(event.get());
                        events.notifyAll();
                    }
                }
            }
        } catch (IOException e) {
            // the process died
        }
        synchronized (events) {
            events.notifyAll();
        }
    }

    /** @return the name given at start */
    public String name() {
        return name;
    }

    /** @return the node's log file */
    public Path log() {
        return log;
    }

    /** @return the operating system's process id */
    public long pid() {
        return process.pid();
    }

    /** @return whether the process is running */
    public boolean alive() {
        return process.isAlive();
    }

    /** @return every event so far */
    public List<NodeEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /**
     * Waits for an event, looking first at those already seen.
     *
     * @param condition what to wait for
     * @param timeout   how long
     * @return the first matching event
     * @throws AssertionError if none comes in time, or the process dies first
     */
    public NodeEvent await(Predicate<NodeEvent> condition, Duration timeout) {
        return awaitAfter(0, condition, timeout);
    }

    /**
     * Waits for an event that happened after a moment.
     *
     * @param afterNanos a reading of the monotonic clock
     * @param condition  what to wait for
     * @param timeout    how long
     * @return the first matching event after the moment
     * @throws AssertionError if none comes in time, or the process dies first
     */
    public NodeEvent awaitAfter(long afterNanos, Predicate<NodeEvent> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            int checked = 0;
            while (true) {
                for (; checked < events.size(); checked++) {
                    NodeEvent event = events.get(checked);
                    if (event.atNanos() >= afterNanos && condition.test(event)) {
                        return event;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && checked == events.size())) {
                    throw new AssertionError(name + ": expected event did not come within " + timeout.toMillis()
                            + " ms" + (process.isAlive() ? "" : " (the process exited)") + "; log: " + log
                            + "; events: " + events);
                }
                try {
                    events.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted", e);
                }
            }
        }
    }

    /**
     * Waits until the node reports a role.
     *
     * @param role    the role
     * @param timeout how long
     * @return the role event
     */
    public NodeEvent awaitRole(PairRole role, Duration timeout) {
        return await(event -> event.type().equals("role") && event.get("to").orElse("").equals(role.name()), timeout);
    }

    /**
     * The role the node last reported.
     *
     * @return the role, {@link PairRole#UNDECIDED} if it reported none
     */
    public PairRole role() {
        PairRole role = PairRole.UNDECIDED;
        for (NodeEvent event : events()) {
            if (event.type().equals("role")) {
                role = PairRole.valueOf(event.get("to").orElseThrow());
            }
        }
        return role;
    }

    /**
     * Sends a command to the node's standard input.
     *
     * @param line the command
     */
    public void command(String line) {
        try {
            commands.write(line + "\n");
            commands.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot send a command", e);
        }
    }

    /**
     * Kills the process with SIGKILL and waits until it is gone.
     *
     * @return the monotonic time just before the signal was sent
     */
    public long kill() {
        long at = System.nanoTime();
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new AssertionError(name + " survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return at;
    }

    /**
     * Asks the node to stop and waits for it to exit.
     */
    public void stop() {
        if (process.isAlive()) {
            command("stop");
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    kill();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
