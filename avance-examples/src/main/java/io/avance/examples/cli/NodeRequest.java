package io.avance.examples.cli;

import io.avance.core.admin.AdminServer;
import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The commands that talk to a running node through its administration socket: {@code avance
 * status}, {@code switchover}, {@code migrate}, {@code maintenance on|off}, {@code vm ...}. The
 * node is found from its configuration file ({@code --config}, whose data directory holds the
 * socket) or the socket's path ({@code --socket}).
 */
abstract class NodeRequest implements Callable<Integer> {

    @Option(names = "--config", description = "the node's configuration file (default: avance.properties)")
    private Path config;

    @Option(names = "--socket", description = "the node's administration socket (instead of --config)")
    private Path socket;

    /** @return the request line to send */
    abstract String request();

    @Override
    public Integer call() {
        Path target;
        if (socket != null) {
            target = socket;
        } else {
            Path file = config != null ? config : Path.of("avance.properties");
            NodeConfig parsed;
            try {
                parsed = NodeConfigFile.read(file);
            } catch (ConfigException e) {
                System.err.println("avance: configuration error in " + file + ": " + e.getMessage());
                return 2;
            }
            if (parsed.adminSocket().isEmpty()) {
                System.err.println("avance: " + file + " sets admin.socket = none: the node has no socket to talk to");
                return 2;
            }
            target = parsed.adminSocket().get();
        }
        try {
            System.out.print(AdminServer.request(target, request()));
            return 0;
        } catch (IllegalStateException e) {
            System.err.println("avance: " + e.getMessage());
            return 1;
        }
    }

    /** {@code avance status}. */
    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Show the pair as a running node sees it: roles, health, paths, volumes, VMs.")
    static final class Status extends NodeRequest {
        @Override
        String request() {
            return "status";
        }
    }

    /** {@code avance switchover}. */
    @Command(name = "switchover", mixinStandardHelpOptions = true,
            description = "Planned switchover: live-migrate every VM to the backup and hand it the primary role.")
    static final class Switchover extends NodeRequest {
        @Override
        String request() {
            return "switchover";
        }
    }

    /** {@code avance migrate}. */
    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = {"Live-migrate the VMs to the peer (they move with the primary role: this is a",
                    "switchover that waits for the migrations and reports rounds, bytes and pause)."})
    static final class Migrate extends NodeRequest {
        @Override
        String request() {
            return "migrate";
        }
    }

    /** {@code avance maintenance on|off}. */
    @Command(name = "maintenance", mixinStandardHelpOptions = true,
            description = "Take this node out of service (it takes no VMs and does not take over), or back in.")
    static final class Maintenance extends NodeRequest {
        @Parameters(index = "0", description = "on or off")
        private String state;

        @Override
        String request() {
            return "maintenance " + state;
        }
    }

    /** {@code avance vm start|stop|restart NAME}. */
    @Command(name = "vm", mixinStandardHelpOptions = true, description = "Start, stop or restart a VM (on the primary).")
    static final class Vm extends NodeRequest {
        @Parameters(index = "0", description = "start, stop or restart")
        private String action;

        @Parameters(index = "1", description = "the VM's name")
        private String name;

        @Override
        String request() {
            return "vm " + action + " " + name;
        }
    }
}
