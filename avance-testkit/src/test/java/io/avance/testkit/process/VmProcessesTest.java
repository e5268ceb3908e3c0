package io.avance.testkit.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.avance.api.PairRole;
import io.avance.testkit.hypervisor.KvClient;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM on a pair of node processes, on the simulated hypervisor: SIGKILL of the primary restarts
 * it on the backup with its disk data (rule 7), and the rolling-upgrade sequence of rule 10 keeps
 * its service answering throughout, with no acknowledged write lost.
 */
class VmProcessesTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path directory;

    private LoopbackPair pairWithVm(InetSocketAddress service) {
        return LoopbackPair.in(directory)
                .with("hypervisor", "simulated")
                .with("volume.vm1-disk.size", "32MiB")
                .with("vm.vm1.memory", "64MiB")
                .with("vm.vm1.disks", "vm1-disk")
                .with("vm.vm1.option.sim.program", "kv")
                .with("vm.vm1.option.sim.bind", service.getAddress().getHostAddress())
                .with("vm.vm1.option.sim.port", String.valueOf(service.getPort()))
                .with("vm.vm1.option.sim.dirty-rate", "20MiB")
                .write();
    }

    private static NodeProcess start(LoopbackPair pair, String node) {
        return NodeProcess.start(node, pair.configOf(node), pair.directory().resolve(node + ".log"), List.of());
    }

    private static NodeEvent awaitVm(NodeProcess node, long afterNanos, String state) {
        return node.awaitAfter(afterNanos, event -> event.type().equals("vm") && event.get("vm").orElse("").equals("vm1")
                && event.get("to").orElse("").equals(state), LIMIT);
    }

    private static void awaitSynced(NodeProcess node, long afterNanos) {
        node.awaitAfter(afterNanos, event -> event.type().equals("volume")
                && event.get("volume").orElse("").equals("vm1-disk") && event.get("to").orElse("").equals("SYNCED"), LIMIT);
    }

    @Test
    void sigkillOfThePrimaryRestartsTheVmOnTheBackupWithItsDiskData() throws Exception {
        InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
        LoopbackPair pair = pairWithVm(service);
        try (NodeProcess alpha = start(pair, LoopbackPair.ALPHA); NodeProcess beta = start(pair, LoopbackPair.BETA);
             KvClient client = new KvClient(service)) {
            alpha.awaitRole(PairRole.PRIMARY, LIMIT);
            beta.awaitRole(PairRole.BACKUP, LIMIT);
            awaitVm(alpha, 0, "RUNNING");
            awaitSynced(alpha, 0);
            for (int i = 0; i < 300; i++) {
                client.put("key" + i, "value" + i);
            }
            long killedAt = alpha.kill();
            beta.awaitAfter(killedAt, event -> event.type().equals("role")
                    && event.get("to").orElse("").equals("PRIMARY"), LIMIT);
            NodeEvent restarted = awaitVm(beta, killedAt, "RUNNING");
            assertEquals(Map.of(), client.verifyAll(), "every acknowledged write survived the crash");
            assertEquals(LoopbackPair.BETA, client.stats().node());
            System.out.printf("SIGKILL of the primary: the VM served again from the backup %d ms later%n",
                    (restarted.atNanos() - killedAt) / 1_000_000);
        }
    }

    @Test
    void aRollingUpgradeKeepsTheServiceAnsweringAndLosesNothing() throws Exception {
        InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
        LoopbackPair pair = pairWithVm(service);
        NodeProcess alpha = start(pair, LoopbackPair.ALPHA);
        NodeProcess beta = start(pair, LoopbackPair.BETA);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<NodeProcess> all = new ArrayList<>(List.of(alpha, beta));
        try (KvClient client = new KvClient(service)) {
            alpha.awaitRole(PairRole.PRIMARY, LIMIT);
            beta.awaitRole(PairRole.BACKUP, LIMIT);
            awaitVm(alpha, 0, "RUNNING");
            awaitSynced(alpha, 0);
            Thread writer = new Thread(() -> {
                try {
                    while (writing.get()) {
                        int i = written.get();
                        client.put("key" + i, "value" + i);
                        written.incrementAndGet();
                    }
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            }, "kv-writer");
            writer.start();

            // 1. The backup goes out of service, is "upgraded" (a new process on the same data) and comes back.
            beta.command("maintenance on");
            beta.stop();
            long betaBack = System.nanoTime();
            beta = start(pair, LoopbackPair.BETA);
            all.add(beta);
            beta.awaitRole(PairRole.BACKUP, LIMIT);
            awaitSynced(beta, betaBack);
            // 2. Roles switch by graceful migration: the VM moves to the upgraded node.
            long switched = System.nanoTime();
            switchover(alpha);
            beta.awaitAfter(switched, event -> event.type().equals("role")
                    && event.get("to").orElse("").equals("PRIMARY"), LIMIT);
            awaitVm(beta, switched, "RUNNING");
            NodeEvent migration = alpha.awaitAfter(switched, event -> event.type().equals("migration"), LIMIT);
            assertEquals("COMPLETED", migration.get("outcome").orElse(""), migration.toString());
            // 3. The other node is upgraded the same way.
            alpha.command("maintenance on");
            alpha.stop();
            long alphaBack = System.nanoTime();
            alpha = start(pair, LoopbackPair.ALPHA);
            all.add(alpha);
            alpha.awaitRole(PairRole.BACKUP, LIMIT);
            awaitSynced(alpha, alphaBack);

            int before = written.get();
            long deadline = System.nanoTime() + LIMIT.toNanos();
            while (written.get() < before + 50 && failure.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            writing.set(false);
            writer.join(LIMIT.toMillis());
            assertEquals(null, failure.get(), "the service stopped answering during the upgrade");
            assertTrue(written.get() >= before + 50, "the service is not answering after the upgrade");
            assertEquals(Map.of(), client.verifyAll(), "an acknowledged write was lost");
            assertEquals(LoopbackPair.BETA, client.stats().node());
            System.out.printf("rolling upgrade: %d writes acknowledged throughout, none lost; the migration paused "
                    + "the VM %s us%n", written.get(), migration.get("pauseUs").orElse("?"));
        } finally {
            writing.set(false);
            for (NodeProcess node : all) {
                node.close();
            }
        }
    }

    /**
     * Asks for a switchover until the primary takes it: right after a resync it may not yet have
     * heard the backup say it is up to date (heartbeats come every 100 ms).
     */
    private static void switchover(NodeProcess primary) throws InterruptedException {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (true) {
            long asked = System.nanoTime();
            primary.command("switchover");
            NodeEvent answer = primary.awaitAfter(asked, event -> event.type().equals("switchover"), LIMIT);
            String result = answer.get("result").orElse("");
            if (result.equals("started")) {
                return;
            }
            if (!result.contains("data is") || System.nanoTime() > deadline) {
                throw new AssertionError("switchover refused: " + result);
            }
            Thread.sleep(50);
        }
    }
}
