package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated hypervisor passes every contract suite, with kv guests on real standalone
 * volumes, reached over TCP to prove they are alive.
 */
class SimulatedHypervisorContractTest extends HypervisorAdapterContract {

    private static final AtomicInteger KEYS = new AtomicInteger();

    @TempDir
    Path volumeDirectory;

    private StandaloneVolumes volumes;
    private final Map<String, VmSpec> specs = new HashMap<>();

    @BeforeEach
    void openVolumes() {
        volumes = new StandaloneVolumes(volumeDirectory);
    }

    @AfterEach
    void closeVolumes() {
        volumes.close();
    }

    @Override
    public HypervisorAdapter createAdapter() {
        return new SimulatedHypervisor(new HostResources(4, 2L << 30));
    }

    @Override
    public HypervisorContext context(NodeId node, Path stateDirectory) {
        return volumes.context(node, stateDirectory);
    }

    @Override
    public VmSpec vmSpec(String name) {
        return specs.computeIfAbsent(name, n -> SimulatedHypervisor.kvSpec(n, 64L << 20,
                new VmSpec.Disk("disk-" + n, 4L << 20, 1), SimHarness.service(),
                Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "1MiB")));
    }

    @Override
    public Duration bootTimeout() {
        return Duration.ofSeconds(20);
    }

    @Override
    public boolean crash(HypervisorAdapter adapter, String vm) {
        simulated(adapter).crash(vm, "crash injected by the contract suite");
        return true;
    }

    /** Alive: it runs, and a STATS over TCP is answered by this adapter's copy of the guest. */
    @Override
    public boolean guestIsAlive(HypervisorAdapter adapter, String vm) {
        if (adapter.info(vm).map(VmInfo::state).orElse(null) != VmState.RUNNING) {
            return false;
        }
        String local = simulated(adapter).request(vm, "STATS");
        try (KvClient client = client(vm)) {
            KvClient.Stats remote = client.stats();
            return local.endsWith(" node=" + remote.node());
        } catch (KvClient.KvException e) {
            return false;
        }
    }

    @Override
    public void exerciseGuest(HypervisorAdapter adapter, String vm) {
        try (KvClient client = client(vm)) {
            for (int i = 0; i < 20; i++) {
                int key = KEYS.incrementAndGet();
                client.put("key-" + key, "value-" + key);
            }
        }
    }

    @Override
    public Optional<String> guestState(HypervisorAdapter adapter, String vm) {
        GuestStats stats = simulated(adapter).stats(vm);
        return Optional.of("keys=" + stats.keys() + " seq=" + stats.lastSequence() + " boot=" + stats.bootId());
    }

    @Override
    public void closeAdapter(HypervisorAdapter adapter) {
        simulated(adapter).powerOff();
    }

    /** The simulated hypervisor under an adapter of these tests. */
    static SimulatedHypervisor simulated(HypervisorAdapter adapter) {
        if (adapter instanceof StreamingSimulatedHypervisor streaming) {
            return streaming.delegate();
        }
        return (SimulatedHypervisor) adapter;
    }

    private KvClient client(String vm) {
        return new KvClient(SimulatedHypervisor.service(vmSpec(vm)), Duration.ofMillis(500));
    }

}
