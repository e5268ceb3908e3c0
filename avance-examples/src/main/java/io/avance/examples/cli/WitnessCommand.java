package io.avance.examples.cli;

import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.time.NanoClock;
import io.avance.core.witness.WitnessServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance witness}: runs a quorum witness for one pair until SIGTERM.
 */
@Command(name = "witness", mixinStandardHelpOptions = true,
        description = "Run a quorum witness for a pair (on a third machine).")
final class WitnessCommand implements Callable<Integer> {

    @Option(names = "--listen", defaultValue = "0.0.0.0:7600", description = "UDP address to answer on")
    private String listen;

    @Option(names = "--secret-file", required = true, description = "the pair's secret (as in pairing.secret-file)")
    private Path secretFile;

    @Option(names = "--data-dir", required = true, description = "where the witness keeps its record")
    private Path dataDirectory;

    @Option(names = "--max-lease", defaultValue = "10", description = "the longest lease granted, in seconds")
    private long maxLeaseSeconds;

    @Override
    public Integer call() throws Exception {
        byte[] secret;
        try {
            secret = NodeConfigFile.decodeSecret("--secret-file", Files.readString(secretFile, StandardCharsets.UTF_8));
        } catch (ConfigException e) {
            System.err.println("avance witness: " + e.getMessage());
            return 2;
        }
        int colon = listen.lastIndexOf(':');
        InetSocketAddress address = new InetSocketAddress(listen.substring(0, colon),
                Integer.parseInt(listen.substring(colon + 1)));
        try (WitnessServer server = new WitnessServer(address, secret, dataDirectory, NanoClock.system(),
                TimeUnit.SECONDS.toNanos(maxLeaseSeconds))) {
            System.out.println("witness answering on " + server.address() + "; Ctrl-C to stop");
            Thread.currentThread().join();
        }
        return 0;
    }
}
