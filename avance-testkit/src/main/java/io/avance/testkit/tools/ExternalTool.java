package io.avance.testkit.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a real client program (qemu-img, nbdinfo, fio...) with a time limit and captures what it
 * printed. A missing program fails the test with the package to install: tests that use real
 * clients are never skipped.
 *
 * <pre>{@code
 * String info = ExternalTool.ok(60, "qemu-img", "info", "nbd://127.0.0.1:10809/data");
 * try (ExternalTool.Running fio = ExternalTool.in(directory).start("fio", "--name=w", ...)) {
 *     ...kill the server...
 *     ExternalTool.Result result = fio.await(Duration.ofMinutes(1));
 * }
 * }</pre>
 *
 * <p>Thread-safe: each call runs its own process.
 */
public final class ExternalTool {

    /** The packages that provide the clients these tests use, for the error message. */
    private static final String PACKAGES = "qemu-utils libnbd-bin fio";

    /**
     * What a program did.
     *
     * @param exit   its exit status
     * @param output what it wrote to standard output and standard error, interleaved
     */
    public record Result(int exit, String output) {
    }

    private final Optional<Path> directory;

    private ExternalTool(Optional<Path> directory) {
        this.directory = directory;
    }

    /**
     * Runs programs in a working directory (fio writes its verify state files there).
     *
     * @param directory the working directory
     * @return a runner
     */
    public static ExternalTool in(Path directory) {
        return new ExternalTool(Optional.of(directory));
    }

    /**
     * Runs a program in this process's working directory and waits for it.
     *
     * @param timeoutSeconds the longest it may run; it is killed after that and the test fails
     * @param command        the program and its arguments
     * @return what it did
     * @throws AssertionError if it is not installed or runs too long
     */
    public static Result run(long timeoutSeconds, String... command) {
        return new ExternalTool(Optional.empty()).runHere(timeoutSeconds, command);
    }

    /**
     * Runs a program and requires it to succeed.
     *
     * @param timeoutSeconds the longest it may run
     * @param command        the program and its arguments
     * @return what it printed
     * @throws AssertionError if it exits with a nonzero status, is not installed or runs too long
     */
    public static String ok(long timeoutSeconds, String... command) {
        return new ExternalTool(Optional.empty()).okHere(timeoutSeconds, command);
    }

    /**
     * Runs a program in this runner's directory and waits for it.
     *
     * @param timeoutSeconds the longest it may run
     * @param command        the program and its arguments
     * @return what it did
     */
    public Result runHere(long timeoutSeconds, String... command) {
        try (Running running = start(command)) {
            return running.await(Duration.ofSeconds(timeoutSeconds));
        }
    }

    /**
     * Runs a program in this runner's directory and requires it to succeed.
     *
     * @param timeoutSeconds the longest it may run
     * @param command        the program and its arguments
     * @return what it printed
     */
    public String okHere(long timeoutSeconds, String... command) {
        Result result = runHere(timeoutSeconds, command);
        if (result.exit() != 0) {
            throw new AssertionError(String.join(" ", command) + " exited with " + result.exit() + ":\n"
                    + result.output());
        }
        return result.output();
    }

    /**
     * Starts a program and returns at once; its output is collected until it ends.
     *
     * @param command the program and its arguments
     * @return the running program; closing it kills the program if it still runs
     */
    public Running start(String... command) {
        ProcessBuilder builder = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
        directory.ifPresent(path -> builder.directory(path.toFile()));
        Process process;
        try {
            process = builder.start();
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new AssertionError(command[0] + " is not installed; .ci/run installs it (apt-get install -y "
                    + PACKAGES + "): " + e.getMessage(), e);
        }
        return new Running(String.join(" ", command), process);
    }

    /**
     * A program started by {@link #start}.
     */
    public static final class Running implements AutoCloseable {
        /** Output kept from the start and from the end of a program that prints without end. */
        private static final int KEEP_BYTES = 1 << 20;
        private static final Pattern FIO_PERCENT = Pattern.compile("\\[(\\d+(?:\\.\\d)?)%]");
        private final String command;
        private final Process process;
        private final ByteArrayOutputStream output = new ByteArrayOutputStream();
        private final ByteArrayOutputStream tail = new ByteArrayOutputStream();
        private long dropped;
        private final Thread reader;

        private Running(String command, Process process) {
            this.command = command;
            this.process = process;
            // Drained on a thread of its own, so that a program with a lot to say never blocks on a full pipe.
            this.reader = new Thread(() -> drain(process.getInputStream()), "external-tool-output");
            this.reader.setDaemon(true);
            this.reader.start();
        }

        private void drain(InputStream in) {
            byte[] buffer = new byte[8192];
            try (in) {
                for (int read; (read = in.read(buffer)) >= 0; ) {
                    synchronized (output) {
                        keep(buffer, read);
                        output.notifyAll();
                    }
                }
            } catch (IOException e) {
                // The process was killed: what it printed so far is kept.
            }
            synchronized (output) {
                output.notifyAll();
            }
        }

        /**
         * Waits until what the program printed satisfies a condition, checking again whenever it
         * prints more.
         *
         * @param condition what the output must satisfy
         * @param limit     the longest wait
         * @param what      what was awaited, for the failure
         * @throws AssertionError if the program ends or the limit passes first, with its output
         */
        public void awaitOutput(Predicate<String> condition, Duration limit, String what) {
            long deadline = System.nanoTime() + limit.toNanos();
            synchronized (output) {
                while (!condition.test(outputSoFar())) {
                    long left = deadline - System.nanoTime();
                    if (!reader.isAlive() && !condition.test(outputSoFar())) {
                        throw new AssertionError(command + " ended before " + what + ":\n" + outputSoFar());
                    }
                    if (left <= 0) {
                        throw new AssertionError("no " + what + " from " + command + " in " + limit.toSeconds()
                                + " s:\n" + outputSoFar());
                    }
                    try {
                        output.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new AssertionError("interrupted waiting for " + what, e);
                    }
                }
            }
        }

        /**
         * Waits until fio (started with {@code --eta=always --eta-newline=1}) reports a share of
         * its job done.
         *
         * @param percent how much, 0 to 100
         * @param limit   the longest wait
         */
        public void awaitFioProgress(double percent, Duration limit) {
            awaitOutput(text -> {
                Matcher matcher = FIO_PERCENT.matcher(text);
                double last = -1;
                while (matcher.find()) {
                    last = Double.parseDouble(matcher.group(1));
                }
                return last >= percent;
            }, limit, percent + " % progress");
        }

        /** Keeps the first and the last {@link #KEEP_BYTES} bytes, so that a flood cannot exhaust the heap. */
        private void keep(byte[] buffer, int length) {
            int head = Math.min(length, KEEP_BYTES - output.size());
            output.write(buffer, 0, head);
            if (head < length) {
                tail.write(buffer, head, length - head);
                if (tail.size() > 2 * KEEP_BYTES) {
                    byte[] last = tail.toByteArray();
                    dropped += last.length - KEEP_BYTES;
                    tail.reset();
                    tail.write(last, last.length - KEEP_BYTES, KEEP_BYTES);
                }
            }
        }

        /** @return what the program printed so far (the start and the end, if it printed a great deal) */
        public String outputSoFar() {
            synchronized (output) {
                String text = output.toString(StandardCharsets.UTF_8);
                if (tail.size() == 0) {
                    return text;
                }
                return text + (dropped > 0 ? "\n[... " + dropped + " bytes left out ...]\n" : "")
                        + tail.toString(StandardCharsets.UTF_8);
            }
        }

        /** @return whether the program still runs */
        public boolean alive() {
            return process.isAlive();
        }

        /**
         * Asks the program to stop (SIGTERM), as a user pressing Ctrl-C would: most programs then
         * finish cleanly and write what they owe (fio writes its logs).
         */
        public void terminate() {
            process.destroy();
        }

        /**
         * Waits for the program to end, without failing if it does not.
         *
         * @param limit the longest wait
         * @return true if it ended
         */
        public boolean awaitExit(Duration limit) {
            try {
                return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        /**
         * Waits for the program to end.
         *
         * @param limit the longest wait; after it the program is killed and the test fails
         * @return what it did
         */
        public Result await(Duration limit) {
            try {
                if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    reader.join(TimeUnit.SECONDS.toMillis(10));
                    throw new AssertionError(command + " did not finish in " + limit.toSeconds() + " s:\n"
                            + outputSoFar());
                }
                reader.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new UncheckedIOException(new IOException("interrupted waiting for " + command, e));
            }
            return new Result(process.exitValue(), outputSoFar());
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }
}
