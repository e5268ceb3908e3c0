package io.avance.examples.embed;

import io.avance.api.event.MigrationEnded;
import io.avance.api.event.RoleChanged;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.vm.VmException;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.hypervisor.SimulatedHypervisor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A vendor's appliance embedding one node of an Avance pair: it runs its service as a VM on the
 * pair (which keeps it on the healthier node, migrates it live and restarts it after a crash), and
 * feeds its own hardware monitoring into the pair's health. On a Xen dom0, pass
 * {@code new io.avance.xen.XenHypervisorAdapter()} instead of the simulated hypervisor.
 *
 * <pre>
 * java -cp avance.jar io.avance.examples.embed.EmbeddingExample alpha.properties
 * </pre>
 */
public final class EmbeddingExample {

    private EmbeddingExample() {
    }

    /**
     * Runs the appliance.
     *
     * @param args the node's configuration file
     * @throws InterruptedException when interrupted
     */
    public static void main(String[] args) throws InterruptedException {
        AvanceNode node = AvanceNode.builder(NodeConfigFile.read(Path.of(args[0])))
                .hypervisor(new SimulatedHypervisor(new HostResources(2, 4L << 30)))
                .listener(event -> {
                    if (event instanceof RoleChanged change) {
                        System.out.println("this node is now " + change.to() + ": " + change.reason());
                    } else if (event instanceof MigrationEnded migration) {
                        System.out.println("the service moved: " + migration.report());
                    }
                })
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(node::close));
        node.start();
        // The service: a VM with 512 MiB and a replicated 1 GiB disk, defined once on the primary;
        // both nodes keep the definition, and whichever is primary runs it.
        VmSpec service = new VmSpec("pos-server", 1, 512L << 20, List.of(new VmSpec.Disk("pos-data", 1L << 30, 2)),
                List.of(), Map.of("sim.program", "kv", "sim.port", "9000"));
        while (true) {
            try {
                node.vms().define(service, true);
            } catch (VmException e) {
                // Only the primary defines VMs; the backup has it from the primary's catalog.
            }
            // The vendor's own hardware monitor reports what it sees; the pair moves the VM to the
            // healthier node by itself.
            if (Boolean.getBoolean("demo.psu-failed")) {
                node.faults().raise(Fault.of(Component.POWER_SUPPLY, "psu2", Severity.MAJOR, "no output voltage"));
            }
            System.out.println(node.role() + ": " + node.vms().get("pos-server").map(vm -> vm.state() + " "
                    + vm.node().map(id -> "on " + id).orElse("")).orElse("not defined yet"));
            Thread.sleep(5_000);
        }
    }
}
