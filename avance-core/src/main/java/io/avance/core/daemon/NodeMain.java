package io.avance.core.daemon;

import io.avance.api.event.DecisionTaken;
import io.avance.api.event.FaultCleared;
import io.avance.api.event.FaultRaised;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PathChanged;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.ResyncProgressed;
import io.avance.api.event.RoleChanged;
import io.avance.api.event.VmStateChanged;
import io.avance.api.event.VolumeStateChanged;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.node.AvanceNode;
import io.avance.core.pair.PairStatus;
import io.avance.core.time.NanoClock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one node in this process, with its operations services (monitor, alerts, call home,
 * virtual addresses, availability record), printing its events as {@link EventLines}.
 *
 * <pre>
 * java -cp ... io.avance.core.daemon.NodeMain node.properties
 * </pre>
 *
 * <p>With commands (always when started through {@link #main}), it also reads commands on standard
 * input, one per line: {@code status}; {@code fault raise COMPONENT LOCATION SEVERITY
 * description...}; {@code fault clear COMPONENT LOCATION}; {@code maintenance on|off};
 * {@code switchover}; {@code stop}. The node stops on {@code stop}, on SIGTERM, and, when it reads
 * commands, when standard input closes (its parent went away). A service manager runs it without
 * commands ({@code avance node --config FILE}), so that it stops only on SIGTERM.
 */
public final class NodeMain {

    private static final NanoClock CLOCK = NanoClock.system();

    private NodeMain() {
    }

    /**
     * Starts the node.
     *
     * @param args the configuration file
     */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: NodeMain <node.properties>");
            System.exit(2);
        }
        NodeConfig config;
        try {
            config = NodeConfigFile.read(Path.of(args[0]));
        } catch (ConfigException e) {
            System.err.println("configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(config, System.out, true));
    }

    /**
     * Runs a node until it is told to stop.
     *
     * @param config    the node's configuration
     * @param out       where event lines go
     * @param fromStdin whether to read commands from standard input (and stop when it closes)
     * @return the exit status
     */
    public static int run(NodeConfig config, PrintStream out, boolean fromStdin) {
        CountDownLatch stopped = new CountDownLatch(1);
        // A Prometheus registry, so that the monitor's /metrics can serve the node's meters.
        AvanceNode node = AvanceNode.builder(config).meterRegistry(io.avance.core.operations.Operations
                .prometheusRegistry()).listener(event -> print(out, event)).build();
        java.util.concurrent.atomic.AtomicReference<io.avance.core.operations.Operations> operations =
                new java.util.concurrent.atomic.AtomicReference<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closeOperations(operations);
            node.close();
            stopped.countDown();
        }, "avance-shutdown"));
        try {
            node.start();
            // The monitor, alerts, call home, virtual addresses and the availability record.
            operations.set(io.avance.core.operations.Operations.builder(node).start());
        } catch (RuntimeException e) {
            // What the host lacks (Xen, a free port, a writable directory), in one line: the
            // message names it; the stack trace would only hide it.
            System.err.println("avance node " + config.nodeId() + ": cannot start: " + oneLine(e));
            emit(out, "error", "node", config.nodeId(), "message", oneLine(e));
            closeOperations(operations);
            node.close();
            return 1;
        }
        emit(out, "ready", "node", config.nodeId(), "pid", ProcessHandle.current().pid(), "nbd",
                node.nbdAddress().map(address -> address.getHostString() + ":" + address.getPort()).orElse("none"));
        if (fromStdin) {
            Thread commands = new Thread(() -> readCommands(node, out, stopped), "avance-commands");
            commands.setDaemon(true);
            commands.start();
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeOperations(operations);
        node.close();
        emit(out, "stopped", "node", config.nodeId());
        return 0;
    }

    /** An exception and its causes, as one line: each message once. */
    static String oneLine(Throwable error) {
        StringBuilder line = new StringBuilder();
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            String message = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
            if (line.indexOf(message) < 0) {
                line.append(line.length() == 0 ? "" : ": ").append(message);
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return line.toString().replace('\n', ' ');
    }

    private static void closeOperations(java.util.concurrent.atomic.AtomicReference<io.avance.core.operations.Operations>
                                                operations) {
        io.avance.core.operations.Operations running = operations.getAndSet(null);
        if (running != null) {
            running.close();
        }
    }

    private static void readCommands(AvanceNode node, PrintStream out, CountDownLatch stopped) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] words = line.trim().split("\\s+");
                try {
                    if (!execute(node, out, words)) {
                        break;
                    }
                } catch (RuntimeException e) {
                    emit(out, "error", "command", line, "message", e.getMessage());
                }
            }
        } catch (java.io.IOException e) {
            emit(out, "error", "message", "stdin: " + e.getMessage());
        }
        stopped.countDown();
    }

    private static boolean execute(AvanceNode node, PrintStream out, String[] words) {
        switch (words[0]) {
            case "status" -> {
                PairStatus status = node.status().orElseThrow();
                emit(out, "status", "role", status.role(), "epoch", status.epoch(), "serving", node.mayServe(),
                        "health", status.health().value(), "peerSilenceMs",
                        status.peerSilenceNanos() == Long.MAX_VALUE ? -1 : status.peerSilenceNanos() / 1_000_000,
                        "declaredDown", status.peerDeclaredDown());
            }
            case "fault" -> {
                Component component = Component.valueOf(words[2].toUpperCase(Locale.ROOT));
                if (words[1].equals("raise")) {
                    Severity severity = Severity.valueOf(words[4].toUpperCase(Locale.ROOT));
                    String description = String.join(" ", Arrays.copyOfRange(words, 5, words.length));
                    node.faults().raise(Fault.of(component, words[3], severity, description));
                } else {
                    node.faults().clear(component, words[3]);
                }
            }
            case "maintenance" -> node.setMaintenance(words[1].equals("on"));
            case "switchover" -> emit(out, "switchover", "result", node.switchover("requested on the command line"));
            case "stop" -> {
                return false;
            }
            default -> emit(out, "error", "message", "unknown command " + words[0]);
        }
        return true;
    }

    private static void print(PrintStream out, PairEvent event) {
        if (event instanceof RoleChanged e) {
            emit(out, "role", "node", e.node(), "from", e.from(), "to", e.to(), "epoch", e.epoch(), "reason", e.reason());
        } else if (event instanceof PeerChanged e) {
            emit(out, "peer", "node", e.node(), "reachable", e.reachable(), "role", e.role(), "declaredDown",
                    e.declaredDown(), "detail", e.detail());
        } else if (event instanceof PathChanged e) {
            emit(out, "path", "node", e.node(), "path", e.path().name(), "alive", e.path().peerAlive());
        } else if (event instanceof DecisionTaken e) {
            emit(out, "decision", "node", e.node(), "action", e.decision().action(), "reason", e.decision().reason(),
                    "outcome", e.outcome());
        } else if (event instanceof FaultRaised e) {
            emit(out, "fault", "node", e.node(), "state", "raised", "component", e.fault().component(), "location",
                    e.fault().location(), "severity", e.fault().severity(), "predicted", e.fault().predicted(),
                    "score", e.score());
        } else if (event instanceof VolumeStateChanged e) {
            emit(out, "volume", "node", e.node(), "volume", e.volume(), "from", e.from(), "to", e.to(), "reason",
                    e.reason());
        } else if (event instanceof VmStateChanged e) {
            emit(out, "vm", "node", e.node(), "vm", e.vm(), "from", e.from(), "to", e.to(), "reason", e.reason());
        } else if (event instanceof MigrationEnded e) {
            emit(out, "migration", "node", e.node(), "vm", e.report().vm(), "outcome", e.report().outcome(), "rounds",
                    e.report().rounds(), "bytes", e.report().bytesSent(), "totalMs", e.report().totalNanos() / 1_000_000,
                    "pauseUs", e.report().pauseNanos() / 1_000, "failure", e.report().failure().orElse(""));
        } else if (event instanceof ResyncProgressed e) {
            emit(out, "resync", "node", e.node(), "volume", e.volume(), "done", e.progress().bytesDone(), "total",
                    e.progress().bytesTotal());
        } else if (event instanceof FaultCleared e) {
            emit(out, "fault", "node", e.node(), "state", "cleared", "component", e.fault().component(), "location",
                    e.fault().location(), "score", e.score());
        }
    }

    private static void emit(PrintStream out, String type, Object... fields) {
        String line = EventLines.format(CLOCK.nanoTime(), type, fields);
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }
}
