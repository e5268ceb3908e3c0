package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.VmSpec;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kv client: what it records, what it reports lost, and how it retries. */
class KvClientTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path directory;

    private SimHarness harness;
    private SimulatedHypervisor node;

    @BeforeEach
    void open() {
        harness = new SimHarness(directory);
        node = harness.node("a");
    }

    @AfterEach
    void close() {
        harness.close();
    }

    private VmSpec running(String name, String disk, InetSocketAddress service) {
        VmSpec spec = SimulatedHypervisor.kvSpec(name, 16L << 20, new VmSpec.Disk(disk, 1L << 20, 1), service, Map.of());
        node.define(spec);
        node.start(spec.name());
        return spec;
    }

    @Test
    void verifyAllReportsWritesThatAreMissingOrChanged() {
        InetSocketAddress service = SimHarness.service();
        VmSpec spec = running("verified", "disk-one", service);
        try (KvClient mine = SimHarness.client(spec, DEADLINE); KvClient theirs = SimHarness.client(spec, DEADLINE)) {
            mine.put("shared", "mine");
            mine.put("alone", "1");
            assertEquals(Map.of(), mine.verifyAll());
            theirs.put("shared", "theirs");
            assertEquals(Map.of("shared", Optional.of("theirs")), mine.verifyAll());
            assertEquals(Map.of("shared", "mine", "alone", "1"), mine.acknowledged());

            // The same VM on a blank disk: every acknowledged write is gone, and verifyAll says so.
            node.destroy(spec.name());
            node.undefine(spec.name());
            running("verified", "disk-blank", service);
            assertEquals(Map.of("alone", Optional.empty(), "shared", Optional.empty()), mine.verifyAll());
        }
    }

    @Test
    void aCallRetriesUntilTheGuestIsBack() throws Exception {
        VmSpec spec = running("restarting", "disk-r", SimHarness.service());
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            client.put("first", "1");
            node.crash(spec.name(), "the test crashes it under the client");
            CompletableFuture<Long> put = CompletableFuture.supplyAsync(() -> client.put("second", "2"));
            HypervisorContractSupport.awaitTrue(() -> client.reconnects() > 0, DEADLINE,
                    () -> "the client never met the dead guest");
            assertTrue(!put.isDone(), "a PUT to a crashed guest cannot have been answered");
            node.start(spec.name());
            assertEquals(2, put.get(DEADLINE.toSeconds(), TimeUnit.SECONDS), "the retried PUT, after the replay");
            assertEquals(Map.of(), client.verifyAll());
        }
    }

    @Test
    void theDeadlineBoundsTheRetries() {
        // An address of its own that nothing listens on: every connection is refused.
        InetSocketAddress nobody = SimHarness.service();
        try (KvClient client = new KvClient(nobody, Duration.ofMillis(300))) {
            long start = System.nanoTime();
            KvClient.KvException e = assertThrows(KvClient.KvException.class, () -> client.get("k"));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis >= 300 && millis < 5_000, "gave up after " + millis + " ms");
            assertTrue(e.getMessage().contains(nobody.getAddress().getHostAddress()), e.getMessage());
            assertTrue(client.reconnects() >= 2, "it should have tried more than once");
        }
    }

    @Test
    void anErrIsThrownAtOnceAndNotRecorded() {
        VmSpec spec = new VmSpec("full", 1, 1L << 20, List.of(new VmSpec.Disk("disk-full", 1L << 20, 1)), List.of(),
                Map.of(SimulatedHypervisor.OPTION_BIND, SimHarness.service().getAddress().getHostAddress(),
                        SimulatedHypervisor.OPTION_PORT, Integer.toString(LoopbackAddresses.SERVICE_PORT)));
        node.define(spec);
        node.start(spec.name());
        for (int i = 0; i < 768; i++) {
            node.request(spec.name(), "PUT k" + i + " v");
        }
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            KvClient.KvException e = assertThrows(KvClient.KvException.class, () -> client.put("new", "v"));
            assertTrue(e.getMessage().contains("table full"), e.getMessage());
            assertEquals(0, client.reconnects(), "an ERR is an answer, not a lost connection");
            assertEquals(Map.of(), client.acknowledged());
            assertThrows(IllegalArgumentException.class, () -> client.put("with space", "v"));
            assertThrows(IllegalArgumentException.class, () -> client.put("k", ""));
        }
    }
}
