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
        String line;
        try {
            line = request();
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("avance: " + e.getMessage());
            return 2;
        }
        try {
            System.out.print(AdminServer.request(target, line));
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
            description = "Live-migrate the VMs to the peer (they move with the primary role: this is a switchover "
                    + "that waits for the migrations and reports rounds, bytes and pause).")
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

    /** {@code avance vm create|delete|start|stop|restart NAME}: the pair's VMs, changed on the primary. */
    @Command(name = "vm", mixinStandardHelpOptions = true,
            description = "Create, delete, start, stop or restart a VM (on the primary).",
            subcommands = {Vm.Create.class, Vm.Delete.class, Vm.Start.class, Vm.Stop.class, Vm.Restart.class})
    static final class Vm implements Runnable {
        @picocli.CommandLine.Spec
        private picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(System.out);
        }

        /** {@code avance vm create NAME --memory SIZE --disk SIZE [--cores N] [--image FILE] ...}. */
        @Command(name = "create", mixinStandardHelpOptions = true,
                description = "Define a VM with a replicated disk (the volume NAME-disk), write an image into the disk "
                        + "through the node's NBD export (any format qemu-img reads), and start it. Checked first, "
                        + "with nothing changed on refusal: the name, the image and its size, the backup being up to "
                        + "date, and whether the smaller node could host the VM.")
        static final class Create extends NodeRequest {
            @Parameters(index = "0", description = "the VM's name")
            private String name;

            @Option(names = "--memory", required = true, description = "its memory, such as 1GiB")
            private String memory;

            @Option(names = "--cores", defaultValue = "1", description = "virtual CPUs (default 1)")
            private int cores;

            @Option(names = "--disk", required = true, description = "its disk's size, such as 4GiB")
            private String disk;

            @Option(names = "--image", description = "an image to write into the disk (raw, qcow2, ...)")
            private Path image;

            @Option(names = "--network", description = "a public network its NIC joins (repeatable)")
            private java.util.List<String> networks = new java.util.ArrayList<>();

            @Option(names = "--option", description = "a hypervisor option KEY=VALUE (repeatable)")
            private java.util.List<String> options = new java.util.ArrayList<>();

            @Override
            String request() {
                StringBuilder line = new StringBuilder("vm create ").append(name);
                line.append(" cores=").append(cores);
                line.append(" memory=").append(io.avance.core.config.ConfigValues.sizeBytes("--memory", memory));
                line.append(" disk=").append(io.avance.core.config.ConfigValues.sizeBytes("--disk", disk));
                if (image != null) {
                    line.append(" image=").append(encode(image.toAbsolutePath().normalize().toString()));
                }
                for (String network : networks) {
                    line.append(" network=").append(encode(network));
                }
                for (String option : options) {
                    line.append(" option=").append(encode(option));
                }
                return line.toString();
            }
        }

        /** {@code avance vm delete NAME [--keep-disks]}. */
        @Command(name = "delete", mixinStandardHelpOptions = true,
                description = "Delete a stopped VM and its disks on both nodes (refused while it runs).")
        static final class Delete extends NodeRequest {
            @Parameters(index = "0", description = "the VM's name")
            private String name;

            @Option(names = "--keep-disks", description = "keep its disks (volumes) on both nodes")
            private boolean keepDisks;

            @Override
            String request() {
                return "vm delete " + name + (keepDisks ? " keep-disks" : "");
            }
        }

        /** {@code avance vm start NAME}. */
        @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a VM and keep it running.")
        static final class Start extends NodeRequest {
            @Parameters(index = "0", description = "the VM's name")
            private String name;

            @Override
            String request() {
                return "vm start " + name;
            }
        }

        /** {@code avance vm stop NAME}. */
        @Command(name = "stop", mixinStandardHelpOptions = true, description = "Shut a VM down and keep it stopped.")
        static final class Stop extends NodeRequest {
            @Parameters(index = "0", description = "the VM's name")
            private String name;

            @Override
            String request() {
                return "vm stop " + name;
            }
        }

        /** {@code avance vm restart NAME}. */
        @Command(name = "restart", mixinStandardHelpOptions = true, description = "Restart a VM (pulls its plug).")
        static final class Restart extends NodeRequest {
            @Parameters(index = "0", description = "the VM's name")
            private String name;

            @Override
            String request() {
                return "vm restart " + name;
            }
        }

        private static String encode(String value) {
            return java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
