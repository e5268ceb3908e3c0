package io.avance.examples.cli;

import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.daemon.NodeMain;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance node --config FILE}: runs one node until SIGTERM (or Ctrl-C).
 */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = "Run one node of a pair from its configuration file (see the README for the keys).")
final class NodeCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "the node's configuration file")
    private Path config;

    @Option(names = "--commands", description = "also take commands on standard input (status, fault ..., stop)")
    private boolean commands;

    @Override
    public Integer call() {
        NodeConfig parsed;
        try {
            parsed = NodeConfigFile.read(config);
        } catch (ConfigException e) {
            System.err.println("avance: configuration error in " + config + ": " + e.getMessage());
            return 2;
        }
        return NodeMain.run(parsed, System.out, commands);
    }
}
