package io.avance.core.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.core.config.OperationsConfig;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.operations.OpsTesting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The virtual-address agent against a recording driver: a serving node takes and announces the
 * address, puts it back if it is removed by hand, and releases it when it stops.
 */
class VirtualAddressAgentTest {

    @TempDir
    Path directory;

    /** Records what the agent asks for. */
    static final class RecordingDriver implements VirtualAddressDriver {
        final Set<String> held = ConcurrentHashMap.newKeySet();
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public void add(String interfaceName, String address) {
            calls.add("add " + interfaceName + " " + address);
            held.add(interfaceName + " " + address);
        }

        @Override
        public void remove(String interfaceName, String address) {
            calls.add("remove " + interfaceName + " " + address);
            held.remove(interfaceName + " " + address);
        }

        @Override
        public boolean holds(String interfaceName, String address) {
            return held.contains(interfaceName + " " + address);
        }

        @Override
        public void announce(String interfaceName, String ip) {
            calls.add("announce " + interfaceName + " " + ip);
        }

        @Override
        public void forward(String interfaceName, String ip, String via) {
            calls.add("forward " + ip + " via " + via);
        }

        @Override
        public void stopForwarding(String interfaceName, String ip, String via) {
            calls.add("stop forwarding " + ip);
        }

        @Override
        public void returnThrough(String ip, List<String> halves, String via) {
            calls.add("return " + halves + " via " + via);
        }

        @Override
        public void stopReturning(String ip, List<String> halves, String via) {
            calls.add("stop returning " + halves);
        }
    }

    @Test
    void aServingNodeHoldsAndAnnouncesItsAddressAndReleasesItWhenItStops() throws Exception {
        RecordingDriver driver = new RecordingDriver();
        OperationsConfig config = new OperationsConfig.Builder()
                .virtualAddress(new OperationsConfig.VirtualAddress("lan", "eth1", "192.0.2.10/24")).build();
        try (AvanceNode node = AvanceNode.builder(OpsTesting.standalone(directory, "solo", config)).build()) {
            node.start();
            Operations operations = Operations.builder(node).virtualAddresses(driver, Duration.ofMillis(50)).start();
            try {
                OpsTesting.await(() -> driver.held.contains("eth1 192.0.2.10/24"), Duration.ofSeconds(10),
                        () -> "not taken: " + driver.calls);
                OpsTesting.await(() -> driver.calls.contains("announce eth1 192.0.2.10"), Duration.ofSeconds(10),
                        () -> "not announced: " + driver.calls);
                driver.held.clear();
                OpsTesting.await(() -> driver.held.contains("eth1 192.0.2.10/24"), Duration.ofSeconds(10),
                        () -> "not taken back: " + driver.calls);
                assertTrue(operations.virtualAddresses().orElseThrow().holds("lan"));
            } finally {
                operations.close();
            }
            assertTrue(driver.held.isEmpty(), "released on stop: " + driver.calls);
            assertEquals("remove eth1 192.0.2.10/24", driver.calls.get(driver.calls.size() - 1));
            assertTrue(node.journal().read(e -> e.action().equals("take virtual address"), 5).size() >= 2);
            assertTrue(driver.calls.stream().noneMatch(call -> call.startsWith("forward")), "no forwarding: " + driver.calls);
        }
    }

    @Test
    void theAddressesNetworkSplitsIntoTwoHalves() {
        assertEquals(List.of("192.0.2.0/25", "192.0.2.128/25"),
                new OperationsConfig.VirtualAddress("lan", "eth1", "192.0.2.10/24").networkHalves());
        assertEquals(List.of("10.1.0.0/17", "10.1.128.0/17"),
                new OperationsConfig.VirtualAddress("lan", "eth1", "10.1.200.7/16").networkHalves());
        assertEquals(List.of(), new OperationsConfig.VirtualAddress("lan", "eth1", "192.0.2.10/32").networkHalves());
    }
}
