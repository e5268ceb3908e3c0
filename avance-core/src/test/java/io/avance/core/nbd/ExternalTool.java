package io.avance.core.nbd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a real client program (qemu-img, nbdinfo, fio...) with a time limit and captures what it
 * printed. A missing program fails the test with the package to install: these tests are never
 * skipped.
 */
final class ExternalTool {

    record Result(int exit, String output) {
    }

    private ExternalTool() {
    }

    static Result run(long timeoutSeconds, String... command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new AssertionError(command[0] + " is not installed; .ci/run installs it (apt-get install -y "
                    + "qemu-utils libnbd-bin fio): " + e.getMessage(), e);
        }
        process.getOutputStream().close();
        byte[] output;
        try (var in = process.getInputStream()) {
            // Read on this thread: the process ends when its output is drained, or is killed below.
            Thread killer = new Thread(() -> {
                try {
                    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    process.destroyForcibly();
                }
            });
            killer.setDaemon(true);
            killer.start();
            output = in.readAllBytes();
        }
        boolean done = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        String text = new String(output, StandardCharsets.UTF_8);
        if (!done) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s:\n" + text);
        }
        return new Result(process.exitValue(), text);
    }

    static String ok(long timeoutSeconds, String... command) throws IOException, InterruptedException {
        Result result = run(timeoutSeconds, command);
        if (result.exit() != 0) {
            throw new AssertionError(String.join(" ", command) + " exited with " + result.exit() + ":\n"
                    + result.output());
        }
        return result.output();
    }
}
