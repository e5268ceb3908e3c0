package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.hypervisor.KvClient;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance demo}: two nodes as separate processes on loopback, a VM running a key-value
 * service with a client writing to it, a graceful live migration when the primary's disk fails, a
 * SIGKILL of the new primary and the VM's restart from its replicated disk, the return and resync
 * of the killed node; a timeline of what happened and how long it took, and a final check that no
 * write the client saw acknowledged was lost.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a pair on loopback with a VM and a client writing to it: live migration, SIGKILL of "
                + "the primary, takeover, resync; prints a timeline and checks that no acknowledged write was"
                + " lost.")
final class DemoCommand implements Callable<Integer> {

    private static final Duration STEP = Duration.ofSeconds(30);

    @Option(names = "--dir", description = "workspace for configuration, data and logs (default: a new temp dir)")
    private Path directory;

    @Option(names = "--keep-running", description = "leave the pair running at the end, until Ctrl-C")
    private boolean keepRunning;

    @Override
    public Integer call() throws Exception {
        Path where = directory != null ? directory : Workspace.scratch("avance-demo-");
        // The guest's service on a loopback address of its own: wherever the VM runs, clients find it there.
        InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
        System.out.println("Avance demo: two nodes, alpha and beta, as separate processes on loopback, joined by a");
        System.out.println("private link (TCP) and one public network (UDP heartbeats), on the simulated hypervisor.");
        System.out.println("Workspace (configuration, data, logs): " + where);
        System.out.println();
        // The failover hold-off (default 60 s: no graceful failover that soon after a role change)
        // is shortened so that the demo need not wait a minute.
        try (Workspace pair = new Workspace(where, List.of(), "policy.failover-hold-off", "3s",
                "hypervisor", "simulated",
                "volume.vm1-disk.size", "64MiB",
                "vm.vm1.memory", "256MiB",
                "vm.vm1.disks", "vm1-disk",
                "vm.vm1.option.sim.program", "kv",
                "vm.vm1.option.sim.bind", service.getAddress().getHostAddress(),
                "vm.vm1.option.sim.port", String.valueOf(service.getPort()),
                "vm.vm1.option.sim.dirty-rate", "50MiB");
             KvClient client = new KvClient(service)) {
            NodeProcess alpha = pair.start("alpha");
            NodeProcess beta = pair.start("beta");
            System.out.printf("%s alpha (pid %d) and beta (pid %d) started%n", pair.clock(), alpha.pid(), beta.pid());
            NodeProcess primary = pair.awaitPair(STEP);
            NodeProcess backup = pair.other(primary);
            System.out.printf("%s paired: %s is PRIMARY, %s is BACKUP%n", pair.clock(), primary.name(), backup.name());
            awaitVm(primary, 0, "RUNNING");
            awaitSynced(primary, 0);
            System.out.printf("%s vm1 runs on %s: a key-value service in 256 MiB of guest memory that logs every%n"
                    + "%s write to its replicated disk (64 MiB), and dirties 50 MiB/s of memory; a client writes%n"
                    + "%s to it without pause from now on%n", pair.clock(), primary.name(), pad(), pad());
            Writer writer = new Writer(client);
            writer.start();

            // A failed disk on the primary: its health drops below the backup's by more than the
            // margin, and the pair moves to the healthier node by live migration (rules 1 and 5).
            long faultAt = System.nanoTime();
            System.out.printf("%s a CRITICAL disk fault on %s (health 1000 -> 500): the backup is now healthier%n",
                    pair.clock(), primary.name());
            primary.command("fault raise disk sda critical I/O errors on sda");
            NodeEvent migration = primary.awaitAfter(faultAt, event -> event.type().equals("migration"), STEP);
            backup.awaitAfter(faultAt, event -> Workspace.isRole(event, PairRole.PRIMARY), STEP);
            awaitVm(backup, faultAt, "RUNNING");
            System.out.printf("%s graceful failover by live migration: vm1 moved to %s (%s): %s rounds, %s ms in all,%n"
                    + "%s paused %.1f ms; %s is PRIMARY, once the 3 s hold-off since pairing had passed%n",
                    pair.clock(), backup.name(), migration.get("outcome").orElse("?"),
                    migration.get("rounds").orElse("?"), migration.get("totalMs").orElse("?"), pad(),
                    Long.parseLong(migration.get("pauseUs").orElse("0")) / 1000.0, backup.name());
            primary.command("fault clear disk sda");
            NodeProcess swapped = primary;
            primary = backup;
            backup = swapped;
            Thread.sleep(1000);

            System.out.printf("%s SIGKILL %s (the primary, pid %d): no goodbye, as in a power cut%n", pair.clock(),
                    primary.name(), primary.pid());
            long writesBefore = writer.count();
            Takeover takeover = Takeover.of(primary, backup);
            long killedAt = System.nanoTime() - takeover.takeoverNanos();
            System.out.printf("%s %s: %s silent on every path, detected %d ms after the kill%n", pair.clock(),
                    backup.name(), primary.name(), takeover.detectionNanos() / 1_000_000);
            System.out.printf("%s %s is PRIMARY in epoch %s, %d ms after the kill%n", pair.clock(), backup.name(),
                    takeover.epoch(), takeover.takeoverNanos() / 1_000_000);
            NodeEvent restarted = awaitVm(backup, killedAt, "RUNNING");
            System.out.printf("%s vm1 restarted on %s from its replicated disk, serving %d ms after the kill%n",
                    pair.clock(), backup.name(), (restarted.atNanos() - killedAt) / 1_000_000);
            writer.awaitMore(writesBefore, STEP);
            System.out.printf("%s the client's writes go on (%d acknowledged so far)%n", pair.clock(), writer.count());

            long returnedAt = System.nanoTime();
            NodeProcess returning = pair.start(primary.name());
            returning.awaitRole(PairRole.BACKUP, STEP);
            awaitSynced(returning, returnedAt);
            long resyncBytes = backup.events().stream().filter(e -> e.type().equals("resync")
                            && e.atNanos() >= returnedAt)
                    .mapToLong(e -> Long.parseLong(e.get("total").orElse("0"))).max().orElse(0);
            System.out.printf("%s %s restarted on its data directory, rejoined as BACKUP and was resynchronised%n"
                    + "%s (%d KiB of changed blocks, not the whole disk)%n", pair.clock(), returning.name(), pad(),
                    resyncBytes >> 10);

            writer.stop();
            Map<String, java.util.Optional<String>> lost = client.verifyAll();
            System.out.println();
            System.out.printf("Detection %d ms, takeover %d ms, VM serving again %d ms after SIGKILL (heartbeat 100 ms,%n"
                            + "takeover allowed after 500 ms of silence on every path, required by 1 s).%n",
                    takeover.detectionNanos() / 1_000_000, takeover.takeoverNanos() / 1_000_000,
                    (restarted.atNanos() - killedAt) / 1_000_000);
            System.out.printf("Live migration of a 256 MiB guest dirtying 50 MiB/s: %s ms, paused %.1f ms.%n",
                    migration.get("totalMs").orElse("?"), Long.parseLong(migration.get("pauseUs").orElse("0")) / 1000.0);
            if (writer.failure() != null) {
                System.out.println("The client's writes FAILED: " + writer.failure());
            }
            System.out.printf("Final check: %d writes acknowledged to the client, %d missing or wrong after all that: %s%n",
                    client.acknowledged().size(), lost.size(), lost.isEmpty() && writer.failure() == null
                            ? "nothing lost" : "LOST " + lost);
            System.out.println("Every automatic action is in each node's audit journal: "
                    + where.resolve("alpha-data").resolve("audit.log") + " and beta's.");
            if (keepRunning) {
                System.out.println("The pair keeps running; press Ctrl-C to stop it.");
                Thread.currentThread().join();
            }
            return lost.isEmpty() && writer.failure() == null ? 0 : 1;
        }
    }

    private static String pad() {
        return " ".repeat(10);
    }

    private static NodeEvent awaitVm(NodeProcess node, long afterNanos, String state) {
        return node.awaitAfter(afterNanos, event -> event.type().equals("vm") && event.get("to").orElse("").equals(state),
                STEP);
    }

    private static void awaitSynced(NodeProcess node, long afterNanos) {
        node.awaitAfter(afterNanos, event -> event.type().equals("volume") && event.get("to").orElse("").equals("SYNCED"),
                STEP);
    }

    /** The client: writes key after key, each acknowledged only once durable on the guest's disk. */
    private static final class Writer {
        private final KvClient client;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicInteger count = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Thread thread;

        Writer(KvClient client) {
            this.client = client;
            this.thread = new Thread(this::run, "demo-client");
            this.thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        private void run() {
            try {
                while (running.get()) {
                    int i = count.get();
                    client.put("key" + i, "value-" + i);
                    count.incrementAndGet();
                }
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }

        long count() {
            return count.get();
        }

        Throwable failure() {
            return failure.get();
        }

        void awaitMore(long than, Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            while (count.get() <= than && failure.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(STEP.toMillis());
        }
    }
}
