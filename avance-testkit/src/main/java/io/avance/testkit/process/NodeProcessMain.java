package io.avance.testkit.process;

import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.daemon.NodeMain;
import java.nio.file.Path;

/**
 * The main class {@link NodeProcess} starts: the production {@link NodeMain}, with commands on
 * standard input, and optionally a steady stream of garbage for soak tests
 * ({@code -Davance.garbage.mb-per-second=N}), so that they see the pair keep its roles through the
 * collector's pauses.
 *
 * <pre>
 * java -cp ... io.avance.testkit.process.NodeProcessMain node.properties
 * </pre>
 */
public final class NodeProcessMain {

    private NodeProcessMain() {
    }

    /**
     * Starts the node.
     *
     * @param args the configuration file
     */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: NodeProcessMain <node.properties>");
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
        startGarbage(Integer.getInteger("avance.garbage.mb-per-second", 0));
        System.exit(NodeMain.run(config, System.out, true));
    }

    /**
     * Makes garbage at a steady rate, so that a soak test sees the pair keep its roles through
     * the collector's pauses.
     */
    private static void startGarbage(int megabytesPerSecond) {
        if (megabytesPerSecond <= 0) {
            return;
        }
        Thread garbage = new Thread(() -> {
            java.util.List<byte[]> survivors = new java.util.ArrayList<>();
            java.util.SplittableRandom random = new java.util.SplittableRandom();
            while (true) {
                for (int i = 0; i < megabytesPerSecond * 10; i++) {
                    byte[] chunk = new byte[100 * 1024];
                    // Keep a few alive for a while, so that some garbage reaches the old generation.
                    if (random.nextInt(50) == 0) {
                        survivors.add(chunk);
                    }
                }
                if (survivors.size() > 500) {
                    survivors.subList(0, 250).clear();
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "avance-garbage");
        garbage.setDaemon(true);
        garbage.start();
    }
}
