package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.api.event.MigrationEnded;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.MigrationPhase;
import io.avance.api.migration.MigrationReport;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.tools.ExternalTool;
import io.avance.testkit.tools.InProcessPair;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A switchover on a hypervisor that migrates only through its own stream, as the Xen binding does:
 * the engine carries the stream over the migration channel, holds the switch, and the guest keeps
 * its state on the new primary.
 */
class NativeStreamPairTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path directory;

    @Test
    void aSwitchoverCarriesTheHypervisorsOwnStreamAndKeepsTheGuestsState() throws Exception {
        List<MigrationReport> migrations = new CopyOnWriteArrayList<>();
        // As Xen's toolstack does, the target opens the arriving VM's disks through the node's NBD
        // export before the node is primary: reads of its up-to-date copy work, writes do not.
        List<String> opened = new CopyOnWriteArrayList<>();
        InProcessPair nodes = InProcessPair.in(directory);
        nodes.configure((id, config) -> config.nbdListen(new InetSocketAddress(nodes.host(id),
                LoopbackAddresses.NBD_PORT)));
        try (InProcessPair pair = nodes.start(config -> AvanceNode.builder(config)
                .hypervisor(new StreamingSimulatedHypervisor(new SimulatedHypervisor(new HostResources(4, 2L << 30)),
                        true).openingDisksOnReceive((vm, uri) -> {
                            ExternalTool.Result read = ExternalTool.run(60, "qemu-io", "-f", "raw", "-r", "-c",
                                    "read -v 0 512", uri.toString());
                            ExternalTool.Result write = ExternalTool.run(60, "qemu-io", "-f", "raw", "-c",
                                    "write 0 512", uri.toString());
                            opened.add(vm + " " + uri + " read=" + read.exit() + " write=" + write.exit()
                                    + (write.output().contains("Input/output error")
                                    || write.output().contains("shut") ? " write-refused" : "")
                                    + "\n" + read.output() + write.output());
                        }))
                .listener(event -> {
                    if (event instanceof MigrationEnded ended) {
                        migrations.add(ended.report());
                    }
                }))) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            InetSocketAddress service = LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
            primary.vms().define(SimulatedHypervisor.kvSpec("vm1", 64L << 20, new VmSpec.Disk("vm1-disk", 16 << 20, 1),
                    service, Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "20MiB")), true);
            try (KvClient client = new KvClient(service)) {
                for (int i = 0; i < 100; i++) {
                    client.put("key" + i, "value" + i);
                }
                assertEquals("started", primary.switchover("test"));
                pair.events().await(() -> backup.role() == PairRole.PRIMARY && !migrations.isEmpty()
                        && backup.vms().get("vm1").map(v -> v.state() == VmState.RUNNING).orElse(false), LIMIT,
                        () -> "no switchover: " + migrations + " " + backup.vms().list());
                assertEquals(MigrationPhase.COMPLETED, migrations.get(0).outcome(), migrations.get(0).toString());
                assertEquals(Map.of(), client.verifyAll(), "the guest kept every acknowledged key");
                client.put("after", "the-move");
                assertEquals(backup.id().value(), client.stats().node());
                assertEquals(1, opened.size(), opened.toString());
                assertTrue(opened.get(0).startsWith("vm1 nbd://" + LoopbackAddresses.text(
                        new InetSocketAddress(pair.host(backup.id().value()), LoopbackAddresses.NBD_PORT))
                        + "/vm1-disk read=0 write=1 write-refused"), opened.get(0));
            }
        }
    }
}
