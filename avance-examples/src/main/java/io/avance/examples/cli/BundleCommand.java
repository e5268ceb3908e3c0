package io.avance.examples.cli;

import io.avance.core.bundle.DiagnosticBundle;
import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.json.JsonWriter;
import io.avance.core.node.AvanceNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance bundle --config FILE --output PATH}: writes a diagnostic bundle from a node's
 * data directory, for sites without remote access. It works whether the node runs or not (it
 * reads the files and does not lock the directory); the thread dump and metrics in it are this
 * command's own, so a running node's are better taken from its monitor.
 */
@Command(name = "bundle", mixinStandardHelpOptions = true,
        description = "Write a diagnostic bundle (zip) from a node's data directory to a file or directory.")
final class BundleCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "the node's configuration file")
    private Path config;

    @Option(names = "--output", required = true, description = "a file, or a directory (a USB stick) to write into")
    private Path output;

    @Override
    public Integer call() throws IOException {
        NodeConfig parsed;
        try {
            parsed = NodeConfigFile.read(config);
        } catch (ConfigException e) {
            System.err.println("avance: configuration error in " + config + ": " + e.getMessage());
            return 2;
        }
        // Built, never started: the node's files are read, its directory is not locked.
        AvanceNode node = AvanceNode.builder(parsed).build();
        String health = new JsonWriter().beginObject().name("node").value(parsed.nodeId().value())
                .name("note").value("written by 'avance bundle' from the data directory; the live pair snapshot is in "
                        + "bundles downloaded from the monitor").endObject().toString();
        DiagnosticBundle bundle = new DiagnosticBundle(node, Optional.of(config), () -> health, List::of,
                Optional::empty, Optional.empty(), Clock.systemUTC());
        Path written = bundle.writeTo(output);
        System.out.println("avance: diagnostic bundle written to " + written);
        return 0;
    }
}
