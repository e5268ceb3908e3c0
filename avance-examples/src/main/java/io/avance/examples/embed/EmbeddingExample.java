package io.avance.examples.embed;

import io.avance.api.PairRole;
import io.avance.api.event.RoleChanged;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.node.AvanceNode;
import java.nio.file.Path;

/**
 * A vendor's appliance embedding one node of an Avance pair: it serves only while this node is
 * primary, and feeds its own hardware monitoring into the pair's health.
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
                .listener(event -> {
                    if (event instanceof RoleChanged change) {
                        System.out.println("this node is now " + change.to() + ": " + change.reason());
                    }
                })
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(node::close));
        node.start();
        while (true) {
            // The vendor's own hardware monitor reports what it sees; the pair moves the service
            // to the healthier node by itself.
            if (powerSupplyFailed()) {
                node.faults().raise(Fault.of(Component.POWER_SUPPLY, "psu2", Severity.MAJOR, "no output voltage"));
            }
            // Serve only while primary and the serving lease holds.
            System.out.println(node.role() == PairRole.PRIMARY && node.mayServe() ? "serving" : "standing by");
            Thread.sleep(1_000);
        }
    }

    private static boolean powerSupplyFailed() {
        return Boolean.getBoolean("demo.psu-failed");
    }
}
