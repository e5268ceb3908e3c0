package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The adapter around the guests: discovery, open and close, fault injection, the idle program. */
class SimulatedHypervisorTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path directory;

    private SimHarness harness;

    @BeforeEach
    void open() {
        harness = new SimHarness(directory);
    }

    @AfterEach
    void close() {
        harness.close();
    }

    @Test
    void theServiceLoaderFindsItWithResourcesFromSystemProperties() {
        System.setProperty(SimulatedHypervisor.CORES_PROPERTY, "3");
        System.setProperty(SimulatedHypervisor.MEMORY_PROPERTY, "3GiB");
        try {
            HypervisorAdapter found = ServiceLoader.load(HypervisorAdapter.class).stream()
                    .map(ServiceLoader.Provider::get).filter(a -> a.name().equals("simulated")).findFirst()
                    .orElseThrow(() -> new AssertionError("no adapter named simulated is registered"));
            assertTrue(found instanceof SimulatedHypervisor);
            assertEquals(new HostResources(3, 3L << 30), found.hostResources());
            assertTrue(found.probe().available());
            assertEquals(EnumSet.of(Capability.PAUSE, Capability.REBOOT, Capability.GUEST_MEMORY_ACCESS,
                    Capability.DIRTY_PAGE_LOGGING, Capability.DEVICE_STATE), found.capabilities());
            System.setProperty(SimulatedHypervisor.MEMORY_PROPERTY, "lots");
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, SimulatedHypervisor::new);
            assertTrue(bad.getMessage().contains(SimulatedHypervisor.MEMORY_PROPERTY), bad.getMessage());
        } finally {
            System.clearProperty(SimulatedHypervisor.CORES_PROPERTY);
            System.clearProperty(SimulatedHypervisor.MEMORY_PROPERTY);
        }
        assertEquals(Runtime.getRuntime().availableProcessors(), new SimulatedHypervisor().hostResources().cores());
    }

    @Test
    void callsBeforeOpenAndAfterCloseAreRefused() {
        SimulatedHypervisor adapter = new SimulatedHypervisor(new HostResources(1, 1L << 30));
        HypervisorException early = assertThrows(HypervisorException.class, adapter::list);
        assertTrue(early.getMessage().contains("not open"), early.getMessage());
        adapter.open(harness.volumes.context(NodeId.of("x"), directory));
        assertThrows(HypervisorException.class, () -> adapter.open(harness.volumes.context(NodeId.of("x"), directory)),
                "open twice");
        assertEquals(List.of(), adapter.list());
        adapter.close();
        HypervisorException late = assertThrows(HypervisorException.class, () -> adapter.info("vm"));
        assertTrue(late.getMessage().contains("closed"), late.getMessage());
    }

    @Test
    void listIsOrderedByName() {
        SimulatedHypervisor node = harness.node("a");
        for (String name : List.of("charlie", "alpha", "bravo")) {
            node.define(SimHarness.kv(name, 16L << 20, Map.of()));
        }
        assertEquals(List.of("alpha", "bravo", "charlie"), node.list().stream().map(VmInfo::name).toList());
    }

    @Test
    void aScheduledCrashComesFromAnAdapterThread() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        EventRecorder events = new EventRecorder();
        node.addListener(events);
        VmSpec spec = SimHarness.kv("doomed", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        node.crashAfter(spec.name(), Duration.ofMillis(50));
        EventRecorder.Heard crashed = events.await(spec.name(), VmEvent.Kind.CRASHED, DEADLINE);
        assertTrue(crashed.event().detail().contains("50 ms"), crashed.event().detail());
        assertEquals(VmState.CRASHED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
        assertTrue(node.history(spec.name()).get(node.history(spec.name()).size() - 1).startsWith("RUNNING -> CRASHED"),
                node.history(spec.name()).toString());
    }

    @Test
    void aPausedVmCannotShutItselfDown() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("napping", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        node.pause(spec.name());
        HypervisorException refused = assertThrows(HypervisorException.class, () -> node.shutdown(spec.name()));
        assertTrue(refused.getMessage().contains("paused"), refused.getMessage());
        assertEquals(VmState.PAUSED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
        node.pause(spec.name());
        node.resume(spec.name());
        node.resume(spec.name());
        node.shutdown(spec.name());
        assertEquals(VmState.STOPPED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
    }

    @Test
    void powerOffKillsEveryGuestWithoutEvents() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        EventRecorder events = new EventRecorder();
        node.addListener(events);
        VmSpec spec = SimHarness.kv("unplugged", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        events.await(spec.name(), VmEvent.Kind.STARTED, DEADLINE);
        int heard = events.count();
        node.powerOff();
        assertThrows(ConnectException.class, () -> SimHarness.connect(spec).close());
        assertThrows(HypervisorException.class, node::list);
        assertEquals(heard, events.count(), "a node without power reports nothing");
    }

    @Test
    void anIdleGuestDirtiesMemoryMigratesAndServesNothing() {
        SimulatedHypervisor source = harness.node("a");
        SimulatedHypervisor target = harness.node("b");
        VmSpec spec = new VmSpec("idler", 2, 64L << 20, List.of(), List.of(),
                Map.of(SimulatedHypervisor.OPTION_PROGRAM, "idle", SimulatedHypervisor.OPTION_DIRTY_RATE, "20MiB"));
        source.define(spec);
        source.start(spec.name());
        assertTrue(source.request(spec.name(), "STATS").startsWith("ERR the idle program serves no requests"));
        HypervisorContractSupport.awaitTrue(() -> source.stats(spec.name()).pagesDirtied() > 100, DEADLINE,
                () -> "the idle guest's dirtier does not run");
        String boot = source.stats(spec.name()).bootId();

        var from = source.guestMemory(spec.name());
        var incoming = target.prepareIncoming(spec);
        from.startDirtyLogging();
        HypervisorContractSupport.preCopy(from, incoming.memory(), 30, 16);
        source.pause(spec.name());
        HypervisorContractSupport.copyLastRound(from, incoming.memory());
        java.nio.ByteBuffer before = java.nio.ByteBuffer.allocate(64 << 20);
        from.readPages(0, (int) from.pageCount(), before);
        incoming.activate(source.saveDeviceState(spec.name()));
        source.destroy(spec.name());
        target.pause(spec.name());
        java.nio.ByteBuffer after = java.nio.ByteBuffer.allocate(64 << 20);
        target.guestMemory(spec.name()).readPages(0, (int) from.pageCount(), after);
        target.resume(spec.name());
        assertEquals(boot, target.stats(spec.name()).bootId());
        HypervisorContractSupport.awaitTrue(() -> target.stats(spec.name()).pagesDirtied() > 0, DEADLINE,
                () -> "the dirtier does not run on in the target");
        // Between activate and the target's pause the guest ran on: the pages may differ by what
        // it dirtied there, but every page it did not touch must be the source's.
        assertTrue(countDifferentPages(before, after) < 1000, "the memory did not arrive");
    }

    private static int countDifferentPages(java.nio.ByteBuffer a, java.nio.ByteBuffer b) {
        int different = 0;
        for (int page = 0; page < a.capacity() / 4096; page++) {
            if (a.slice(page * 4096, 4096).mismatch(b.slice(page * 4096, 4096)) >= 0) {
                different++;
            }
        }
        return different;
    }
}
