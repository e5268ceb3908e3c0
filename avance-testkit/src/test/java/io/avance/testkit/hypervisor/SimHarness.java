package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import io.avance.testkit.tools.LoopbackAddresses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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

    /** A kv VM with a 4 MiB disk named after it and a service on a loopback address of its own. */
    static VmSpec kv(String name, long memoryBytes, Map<String, String> options) {
        return SimulatedHypervisor.kvSpec(name, memoryBytes, new VmSpec.Disk("disk-" + name, 4L << 20, 1), service(),
                options);
    }

    /** A guest service's address of its own (see {@link LoopbackAddresses}). */
    static InetSocketAddress service() {
        return LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT);
    }

    /** A connection to a kv VM's service, made now. */
    static Socket connect(VmSpec spec) throws IOException {
        InetSocketAddress service = SimulatedHypervisor.service(spec);
        return new Socket(service.getAddress(), service.getPort());
    }

    static KvClient client(VmSpec spec, Duration retryDeadline) {
        return new KvClient(SimulatedHypervisor.service(spec), retryDeadline);
    }

    @Override
    public void close() {
        for (SimulatedHypervisor node : nodes) {
            node.powerOff();
        }
        volumes.close();
    }
}
