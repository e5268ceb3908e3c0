package io.avance.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.avance.api.PairRole;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.MigrationProgressed;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.MigrationOptions;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationProgress;
import io.avance.api.migration.MigrationReport;
import io.avance.api.vm.ManagedVm;
import io.avance.api.vm.VmException;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.hypervisor.KvClient;
import io.avance.testkit.hypervisor.SimulatedHypervisor;
import io.avance.testkit.tools.InProcessPair;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VMs on a real pair in this process, on the simulated hypervisor: they run on the primary, keep
 * their state through a live migration under a dirtying workload, restart after a crash, and are
 * refused when they would not fit the smaller node.
 */
class PairVmTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;

    private final List<MigrationReport> migrations = new CopyOnWriteArrayList<>();
    private final Map<String, SimulatedHypervisor> hypervisors = new java.util.concurrent.ConcurrentHashMap<>();

    private final List<MigrationProgress> progress = new CopyOnWriteArrayList<>();

    private InProcessPair pair() {
        return pair(MigrationOptions.DEFAULT);
    }

    private InProcessPair pair(MigrationOptions options) {
        return InProcessPair.in(directory).start(config -> {
            SimulatedHypervisor hypervisor = new SimulatedHypervisor(new HostResources(4, 2048 * MIB));
            hypervisors.put(config.nodeId().value(), hypervisor);
            return AvanceNode.builder(config).hypervisor(hypervisor).migrationOptions(options).listener(event -> {
                if (event instanceof MigrationEnded ended) {
                    migrations.add(ended.report());
                } else if (event instanceof MigrationProgressed progressed) {
                    progress.add(progressed.progress());
                }
            });
        });
    }

    @Test
    void aMigrationThatFailsMidwayLeavesTheVmRunningOnTheSource() throws Exception {
        // Slow on purpose: 20 MB/s for a guest that dirties 50 MiB/s never converges before the kill.
        try (InProcessPair pair = pair(new MigrationOptions(Duration.ofMillis(50), 30, 20_000_000))) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
            primary.vms().define(SimulatedHypervisor.kvSpec("vm1", 64 * MIB, new VmSpec.Disk("vm1-disk", 16 * MIB, 1),
                    service, Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "50MiB")), true);
            try (KvClient client = new KvClient(service)) {
                for (int i = 0; i < 100; i++) {
                    client.put("key" + i, "value" + i);
                }
                assertEquals("started", primary.switchover("test"));
                pair.events().await(() -> progress.stream().anyMatch(p -> p.phase() == MigrationPhase.PRE_COPY
                        && p.round() >= 2), LIMIT, () -> "the migration never got going: " + progress);
                // The target goes away in the middle of the pre-copy.
                pair.stop(backup.id().value());
                pair.events().await(() -> !migrations.isEmpty(), LIMIT, () -> "the migration never ended");
                MigrationReport report = migrations.get(0);
                assertEquals(MigrationPhase.FAILED, report.outcome(), report.toString());
                pair.events().await(() -> primary.vms().get("vm1").map(v -> v.state() == VmState.RUNNING)
                        .orElse(false), LIMIT, () -> "the VM does not run on the source: " + primary.vms().list());
                assertEquals(PairRole.PRIMARY, primary.role(), "the source stays primary");
                assertEquals(Map.of(), client.verifyAll(), "the guest kept its state on the source");
                client.put("after", "the-failure");
                assertEquals(primary.id().value(), client.stats().node());
            }
        }
    }

    @Test
    void aVmRunsOnThePrimaryAndKeepsItsStateThroughASwitchoverUnderLoad() throws Exception {
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
            VmSpec spec = SimulatedHypervisor.kvSpec("vm1", 128 * MIB, new VmSpec.Disk("vm1-disk", 16 * MIB, 1), service,
                    Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "50MiB"));
            ManagedVm vm = primary.vms().define(spec, true);
            assertEquals(VmState.RUNNING, vm.state());
            assertEquals(Optional.of(primary.id()), vm.node());
            assertThrows(VmException.class, () -> backup.vms().start("vm1"), "only the primary changes VMs");

            try (KvClient client = new KvClient(service)) {
                for (int i = 0; i < 200; i++) {
                    client.put("key" + i, "value" + i);
                }
                assertEquals("started", primary.switchover("test"));
                pair.events().await(() -> backup.role() == PairRole.PRIMARY && primary.role() == PairRole.BACKUP
                        && backup.vms().get("vm1").map(v -> v.state() == VmState.RUNNING).orElse(false)
                        && !migrations.isEmpty(), LIMIT, () -> "the switchover did not complete: primary "
                        + primary.role() + " " + primary.vms().list() + ", backup " + backup.role() + " "
                        + backup.vms().list() + ", migrations " + migrations);
                MigrationReport report = migrations.get(0);
                assertEquals(MigrationPhase.COMPLETED, report.outcome(), report.toString());
                assertTrue(report.rounds() >= 2, "a dirtying guest needs more than the first round: " + report);
                assertEquals(Map.of(), client.verifyAll(), "every acknowledged key is there after the move");
                for (int i = 200; i < 300; i++) {
                    client.put("key" + i, "value" + i);
                }
                assertEquals(backup.id().value(), client.stats().node(), "the guest now runs on the new primary");
                assertEquals(Map.of(), client.verifyAll());
                System.out.printf("switchover of a 128 MiB guest dirtying 50 MiB/s: %d rounds, %d ms in all, "
                        + "paused %.1f ms, %d bytes sent%n", report.rounds(), report.totalNanos() / 1_000_000,
                        report.pauseNanos() / 1e6, report.bytesSent());
            }
            assertEquals(VmState.STOPPED, primary.vms().get("vm1").orElseThrow().state(), "gone from the old primary");
        }
    }

    /**
     * A switchover asked for while a VM boots is refused rather than handing the role over
     * under it (which would stop the VM here and boot it afresh on the peer); once it runs, the
     * switchover live-migrates it.
     */
    @Test
    void aSwitchoverWaitsForAVmThatIsStillStarting() throws Exception {
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            // The primary knows its backup as this epoch's, with its data up to date: the only
            // reason left to refuse a switchover is then the booting VM.
            pair.events().await(() -> primary.status().flatMap(io.avance.core.pair.PairStatus::peer)
                    .map(peer -> peer.role() == PairRole.BACKUP && peer.epoch() == primary.status().get().epoch()
                            && peer.data() == io.avance.api.replication.DataState.UP_TO_DATE).orElse(false),
                    LIMIT, () -> "the primary does not see its backup: " + primary.status());
            InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
            // Filling 512 MiB with random bytes keeps the guest booting for a while.
            VmSpec spec = SimulatedHypervisor.kvSpec("vm1", 512 * MIB, new VmSpec.Disk("vm1-disk", 16 * MIB, 1), service,
                    Map.of(SimulatedHypervisor.OPTION_FILL, "random"));
            java.util.concurrent.CompletableFuture<ManagedVm> defined = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> primary.vms().define(spec, true));
            pair.events().await(() -> primary.vms().get("vm1").map(v -> v.state() == VmState.STARTING).orElse(false),
                    LIMIT, () -> "the VM was never seen starting: " + primary.vms().list());
            String refused = primary.switchover("test");
            assertTrue(refused.startsWith("refused: VM vm1 is STARTING"), refused);
            assertEquals(VmState.RUNNING, defined.get(60, java.util.concurrent.TimeUnit.SECONDS).state());
            assertEquals(PairRole.PRIMARY, primary.role(), "no handover under a booting VM");
            // Asked again once the VM runs (and the backup holds its new disk), it starts.
            String[] answer = {""};
            pair.events().await(() -> {
                answer[0] = primary.switchover("test");
                return !answer[0].contains("data is");
            }, LIMIT, () -> "the backup never caught up with the new disk: " + answer[0]);
            assertEquals("started", answer[0]);
            pair.events().await(() -> backup.role() == PairRole.PRIMARY && !migrations.isEmpty()
                    && backup.vms().get("vm1").map(v -> v.state() == VmState.RUNNING).orElse(false), LIMIT,
                    () -> "the switchover did not complete: " + migrations + " " + backup.vms().list());
            assertEquals(MigrationPhase.COMPLETED, migrations.get(0).outcome(), migrations.get(0).toString());
            try (KvClient client = new KvClient(service)) {
                client.put("after", "the-move");
                assertEquals(backup.id().value(), client.stats().node());
            }
        }
    }

    @Test
    void aCrashedVmIsRestartedWhereItRunsWithItsDiskData() throws Exception {
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
            primary.vms().define(SimulatedHypervisor.kvSpec("vm1", 64 * MIB, new VmSpec.Disk("vm1-disk", 16 * MIB, 1),
                    service, Map.of()), true);
            try (KvClient client = new KvClient(service)) {
                for (int i = 0; i < 50; i++) {
                    client.put("key" + i, "value" + i);
                }
                String boot = client.stats().bootId();
                hypervisors.get(primary.id().value()).crash("vm1", "injected by the test");
                pair.events().await(() -> primary.vms().get("vm1").map(v -> v.state() == VmState.RUNNING
                        && v.restarts() == 1).orElse(false), LIMIT, () -> "not restarted: " + primary.vms().list());
                assertNotEquals(boot, client.stats().bootId(), "a new boot");
                assertEquals(Map.of(), client.verifyAll(), "the restarted guest replayed its disk");
            }
        }
    }

    @Test
    void admissionControlRefusesAVmTheSmallerNodeCannotHost() throws Exception {
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            primary.vms().define(SimulatedHypervisor.kvSpec("big", 1536 * MIB, new VmSpec.Disk("big-disk", 16 * MIB, 1),
                    Map.of()), true);
            VmException refused = assertThrows(VmException.class, () -> primary.vms().define(
                    SimulatedHypervisor.kvSpec("more", 1024 * MIB, new VmSpec.Disk("more-disk", 16 * MIB, 1),
                            Map.of()), true));
            assertEquals(VmException.Reason.ADMISSION, refused.reason());
            assertTrue(refused.getMessage().contains("2560 MiB") && refused.getMessage().contains("2048 MiB"),
                    refused.getMessage());
            // Defined but not started is fine; starting it later is refused the same way.
            primary.vms().define(SimulatedHypervisor.kvSpec("more", 1024 * MIB, new VmSpec.Disk("more-disk", 16 * MIB,
                    1), Map.of()), false);
            assertEquals(VmException.Reason.ADMISSION, assertThrows(VmException.class,
                    () -> primary.vms().start("more")).reason());
            assertEquals(VmState.RUNNING, primary.vms().get("big").orElseThrow().state());
        }
    }
}
