package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Simulated nodes on shared standalone volumes, for the tests of the simulated hypervisor: each
 * {@link #node} is an opened adapter; every adapter is powered off and the volumes are closed at
 * the end.
 */
final class SimHarness implements AutoCloseable {

    final StandaloneVolumes volumes;
    private final Path directory;
    private final List<SimulatedHypervisor> nodes = new ArrayList<>();

    SimHarness(Path directory) {
        this(directory, directory.resolve("volumes"));
    }

    SimHarness(Path directory, Path volumeDirectory) {
        this.directory = directory;
        this.volumes = new StandaloneVolumes(volumeDirectory);
    }

    SimulatedHypervisor node(String id) {
        return node(id, new HostResources(4, 4L << 30));
    }

    SimulatedHypervisor node(String id, HostResources resources) {
        SimulatedHypervisor adapter = new SimulatedHypervisor(resources);
        Path state = directory.resolve("state-" + id);
        try {
            Files.createDirectories(state);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        adapter.open(volumes.context(NodeId.of(id), state));
        nodes.add(adapter);
        return adapter;
    }

    /** A kv VM with a 4 MiB disk named after it and a free port. */
    static VmSpec kv(String name, long memoryBytes, Map<String, String> options) {
        return SimulatedHypervisor.kvSpec(name, memoryBytes, new VmSpec.Disk("disk-" + name, 4L << 20, 1), freePort(),
                options);
    }

    static int port(VmSpec spec) {
        return Integer.parseInt(spec.options().get(SimulatedHypervisor.OPTION_PORT));
    }

    static KvClient client(VmSpec spec, Duration retryDeadline) {
        return new KvClient(new InetSocketAddress("127.0.0.1", port(spec)), retryDeadline);
    }

    /**
     * A port for a guest to listen on: free now, never handed out before in this JVM, and below
     * Linux's ephemeral range (32768 and up), so that no client connection's local port and no
     * other VM of the same test takes it between now and the VM's start.
     */
    static int freePort() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = 20_000 + random.nextInt(12_000);
            if (!USED_PORTS.add(port)) {
                continue;
            }
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException e) {
                // taken by something else: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port found for a guest"));
    }

    private static final java.util.Set<Integer> USED_PORTS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Override
    public void close() {
        for (SimulatedHypervisor node : nodes) {
            node.powerOff();
        }
        volumes.close();
    }
}
