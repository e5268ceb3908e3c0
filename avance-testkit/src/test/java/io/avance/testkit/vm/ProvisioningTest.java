package io.avance.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmState;
import io.avance.api.replication.DataState;
import io.avance.api.vm.VmException;
import io.avance.core.node.AvanceNode;
import io.avance.core.vm.VmProvisioning;
import io.avance.testkit.hypervisor.SimulatedHypervisor;
import io.avance.testkit.tools.ExternalTool;
import io.avance.testkit.tools.InProcessPair;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Creating and deleting VMs with their disks ({@code avance vm create|delete}) on a real pair in
 * this process: an image (qcow2 made by qemu-img, written through the node's NBD export) reaches
 * both copies of the new disk; every bad request is refused with a clear reason and changes
 * nothing; a deleted VM's disk goes from both nodes.
 */
class ProvisioningTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;

    private InProcessPair pair() {
        return InProcessPair.in(directory)
                .configure((id, config) -> config.nbdListen(new InetSocketAddress("127.0.0.1", 0)))
                .start(config -> AvanceNode.builder(config)
                        .hypervisor(new SimulatedHypervisor(new HostResources(4, 1024 * MIB))));
    }

    private static VmProvisioning.Request request(String name, long memory, long disk, Optional<Path> image) {
        return new VmProvisioning.Request(name, 1, memory, disk, image, List.of(), Map.of());
    }

    private void awaitBackupUpToDate(InProcessPair pair, AvanceNode primary) throws InterruptedException {
        pair.events().await(() -> primary.status().flatMap(s -> s.peer()).map(p -> p.role() == PairRole.BACKUP
                && p.data() == DataState.UP_TO_DATE).orElse(false), LIMIT,
                () -> "the backup is not up to date: " + primary.status());
    }

    @Test
    void anImageReachesBothCopiesOfTheNewDiskAndTheVmRuns() throws Exception {
        byte[] content = new byte[3 * (int) MIB];
        new Random(7).nextBytes(content);
        Path raw = Files.write(directory.resolve("image.raw"), content);
        Path qcow2 = directory.resolve("image.qcow2");
        ExternalTool.ok(60, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString());
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            awaitBackupUpToDate(pair, primary);
            List<String> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
            var vm = primary.provisioning("test", progress::add).create(request("web", 64 * MIB, 4 * MIB,
                    Optional.of(qcow2)));
            assertEquals(VmState.RUNNING, vm.state());
            assertTrue(progress.stream().anyMatch(line -> line.contains("100 %")), "progress: " + progress);
            for (AvanceNode node : List.of(primary, backup)) {
                Path volume = node.config().volumeDirectory().resolve("web-disk.img");
                pair.events().await(() -> Files.exists(volume), LIMIT, () -> "no volume file on " + node.id());
                byte[] copy = Arrays.copyOf(Files.readAllBytes(volume), content.length);
                assertArrayEquals(content, copy, "the image on " + node.id());
            }
            assertEquals(1, primary.journal().read(e -> e.action().equals("vm-create")
                    && e.outcome().equals("created and started"), 5).size());
        }
    }

    @Test
    void badRequestsAreRefusedWithTheirReasonAndChangeNothing() throws Exception {
        Path big = directory.resolve("big.raw");
        ExternalTool.ok(60, "qemu-img", "create", "-f", "raw", big.toString(), "8M");
        // qcow2's magic, then a header cut short: qemu-img takes it for qcow2 and cannot open it.
        Path garbage = Files.write(directory.resolve("broken.qcow2"), new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 3});
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            awaitBackupUpToDate(pair, primary);
            VmProvisioning provisioning = primary.provisioning("test", line -> { });
            assertRefused(provisioning, request("a", 64 * MIB, 4 * MIB, Optional.of(big)),
                    "holds 8388608 bytes (its virtual size), more than the disk's 4194304");
            assertRefused(provisioning, request("b", 64 * MIB, 4 * MIB, Optional.of(directory.resolve("missing.img"))),
                    "is not a readable file");
            assertRefused(provisioning, request("c", 64 * MIB, 4 * MIB, Optional.of(garbage)),
                    "qemu-img cannot read the image");
            assertRefused(provisioning, request("d", 4096 * MIB, 4 * MIB, Optional.empty()), "MiB");
            assertRefused(provisioning, request("bad name!", 64 * MIB, 4 * MIB, Optional.empty()), "VM name");
            provisioning.create(request("taken", 64 * MIB, 4 * MIB, Optional.empty()));
            assertRefused(provisioning, request("taken", 64 * MIB, 4 * MIB, Optional.empty()), "exists already");
            assertEquals(List.of("taken"), primary.vms().list().stream().map(vm -> vm.name()).toList());
            assertEquals(List.of("taken-disk"), primary.volumeManager().all().stream().map(v -> v.name()).toList());

            // A backup that is not up to date: its copy of a new disk would not be safe yet.
            pair.stop(pair.other(primary).id().value());
            pair.events().await(() -> primary.status().map(s -> s.paths().stream().noneMatch(p -> p.peerAlive()))
                    .orElse(false), LIMIT, () -> "the stopped backup is still heard: " + primary.status());
            assertRefused(provisioning, request("e", 64 * MIB, 4 * MIB, Optional.empty()), "the backup is not up to date");
            assertFalse(primary.volumeManager().volume("e-disk").isPresent());
        }
    }

    @Test
    void aDeletedVmsDiskGoesFromBothNodesAndARunningVmIsNotDeleted() throws Exception {
        try (InProcessPair pair = pair()) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            awaitBackupUpToDate(pair, primary);
            VmProvisioning provisioning = primary.provisioning("test", line -> { });
            provisioning.create(request("old", 64 * MIB, 4 * MIB, Optional.empty()));
            Path onBackup = backup.config().volumeDirectory().resolve("old-disk.img");
            pair.events().await(() -> Files.exists(onBackup), LIMIT, () -> "the backup has no copy");
            VmException running = assertThrows(VmException.class, () -> provisioning.delete("old", false));
            assertTrue(running.getMessage().contains("stop it first"), running.getMessage());
            primary.vms().stop("old");
            provisioning.delete("old", false);
            assertTrue(primary.vms().get("old").isEmpty());
            assertFalse(Files.exists(primary.config().volumeDirectory().resolve("old-disk.img")));
            assertFalse(Files.exists(onBackup), "the backup's copy is deleted too");
            assertTrue(backup.volumeManager().volume("old-disk").isEmpty());
            assertEquals(VmException.Reason.NO_SUCH_VM, assertThrows(VmException.class,
                    () -> provisioning.delete("old", false)).reason());
        }
    }

    private static void assertRefused(VmProvisioning provisioning, VmProvisioning.Request request, String reason) {
        VmException refused = assertThrows(VmException.class, () -> provisioning.create(request));
        assertTrue(refused.getMessage().contains(reason), "expected '" + reason + "' in: " + refused.getMessage());
    }
}
