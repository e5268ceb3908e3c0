package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance demo}: two nodes as separate processes on loopback, a graceful failover, a
 * SIGKILL of the primary, recovery, with a timeline of what happened and how long it took.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a pair on loopback: pairing, graceful failover, SIGKILL of the primary, recovery.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--dir", description = "workspace for configuration, data and logs (default: a new temp dir)")
    private Path directory;

    @Option(names = "--keep-running", description = "leave the pair running at the end, until Ctrl-C")
    private boolean keepRunning;

    @Override
    public Integer call() throws Exception {
        Path where = directory != null ? directory : Workspace.scratch("avance-demo-");
        System.out.println("Avance demo: two nodes, alpha and beta, as separate processes on loopback,");
        System.out.println("joined by a private link (TCP) and one public network (UDP heartbeats).");
        System.out.println("Workspace (configuration, data, logs): " + where);
        System.out.println();
        // The failover hold-off (default 60 s: no graceful failover that soon after a role change)
        // is shortened so that the demo need not wait a minute.
        try (Workspace pair = new Workspace(where, List.of(), "policy.failover-hold-off", "3s")) {
            NodeProcess alpha = pair.start("alpha");
            NodeProcess beta = pair.start("beta");
            System.out.printf("%s alpha (pid %d) and beta (pid %d) started%n", pair.clock(), alpha.pid(), beta.pid());
            NodeProcess primary = pair.awaitPair(Duration.ofSeconds(30));
            NodeProcess backup = pair.other(primary);
            System.out.printf("%s paired: %s is PRIMARY, %s is BACKUP%n", pair.clock(), primary.name(), backup.name());

            // A predicted, then failed, disk on the primary: its health drops below the backup's by
            // more than the margin, and the pair moves to the healthier node (rule 1, rule 5).
            System.out.printf("%s reporting a failed disk on %s (CRITICAL fault, health 1000 -> 500)%n", pair.clock(),
                    primary.name());
            long faultAt = System.nanoTime();
            primary.command("fault raise disk sda critical I/O errors on sda");
            NodeEvent handover = backup.awaitAfter(faultAt, event -> Workspace.isRole(event, PairRole.PRIMARY),
                    Duration.ofSeconds(15));
            System.out.printf("%s graceful failover: %s handed the primary role to %s (epoch %s), once the%n"
                    + "%s 3 s hold-off since the last role change had passed%n", pair.clock(), primary.name(),
                    backup.name(), handover.get("epoch").orElse("?"), " ".repeat(10));
            primary.command("fault clear disk sda");
            NodeProcess swapped = primary;
            primary = backup;
            backup = swapped;
            backup.awaitAfter(faultAt, event -> Workspace.isRole(event, PairRole.BACKUP), Duration.ofSeconds(10));
            System.out.printf("%s the disk is replaced on %s; it stays BACKUP (no failback: the margin and the%n"
                    + "%s hold-off keep roles from ping-ponging)%n", pair.clock(), backup.name(), " ".repeat(10));

            Thread.sleep(1000);
            System.out.printf("%s SIGKILL %s (the primary, pid %d): no goodbye, as in a power cut%n", pair.clock(),
                    primary.name(), primary.pid());
            Takeover takeover = Takeover.of(primary, backup);
            System.out.printf("%s %s: %s silent on every path, detected %d ms after the kill%n", pair.clock(),
                    backup.name(), primary.name(), takeover.detectionNanos() / 1_000_000);
            System.out.printf("%s %s is PRIMARY in epoch %s, %d ms after the kill%n", pair.clock(), backup.name(),
                    takeover.epoch(), takeover.takeoverNanos() / 1_000_000);

            NodeProcess returning = pair.start(primary.name());
            returning.awaitRole(PairRole.BACKUP, Duration.ofSeconds(30));
            System.out.printf("%s %s restarted on its data directory and rejoined as BACKUP%n", pair.clock(),
                    returning.name());

            System.out.println();
            System.out.printf("Detection %d ms, takeover %d ms after SIGKILL (timings: heartbeat 100 ms, takeover%n"
                    + "allowed after 500 ms of silence on every path, required by 1 s).%n",
                    takeover.detectionNanos() / 1_000_000, takeover.takeoverNanos() / 1_000_000);
            System.out.println("Every automatic action is in each node's audit journal: " + where.resolve("alpha-data")
                    .resolve("audit.log") + " and beta's.");
            if (keepRunning) {
                System.out.println("The pair keeps running; press Ctrl-C to stop it.");
                Thread.currentThread().join();
            }
        }
        return 0;
    }
}
