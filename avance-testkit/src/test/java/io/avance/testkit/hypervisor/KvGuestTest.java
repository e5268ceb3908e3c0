package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kv guest beyond the contract: its state really is on the disk log and in guest memory, a
 * live migration under load loses no acknowledged PUT, crashes are abrupt, a pause really stops
 * it, big guests are cheap, and its refusals say why.
 */
class KvGuestTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path directory;

    private SimHarness harness;
    private final ExecutorService background = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "kv-test-client");
        thread.setDaemon(true);
        return thread;
    });

    @BeforeEach
    void open() {
        harness = new SimHarness(directory);
    }

    @AfterEach
    void close() {
        background.shutdownNow();
        harness.close();
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String failure) {
        HypervisorContractSupport.awaitTrue(condition, DEADLINE, () -> failure);
    }

    @Test
    void putsAreOnTheDiskLogAndARebootReplaysThem() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("logged", 64L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            for (int i = 1; i <= 100; i++) {
                assertEquals(i, client.put("key-" + i, "value-" + i), "sequence numbers count the PUTs");
            }
            client.put("key-7", "changed");
            String bootBefore = node.stats(spec.name()).bootId();

            node.reboot(spec.name());

            GuestStats after = node.stats(spec.name());
            assertNotEquals(bootBefore, after.bootId(), "a reboot is a new boot");
            assertEquals(100, after.keys(), "keys replayed from the log");
            assertEquals(101, after.lastSequence(), "the sequence continues from the log");
            assertEquals(Map.of(), client.verifyAll(), "acknowledged PUTs after the reboot");
            assertEquals(Optional.of("changed"), client.get("key-7"), "the last PUT of a key wins the replay");
            assertEquals(102, client.put("after-reboot", "x"));
            KvClient.Stats stats = client.stats();
            assertEquals(101, stats.keys());
            assertEquals("a", stats.node());
            assertEquals(after.bootId(), stats.bootId());
        }
    }

    @Test
    void aFreshVmOnACopyOfTheVolumeFilesReplaysThePuts() throws IOException {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("copied", 64L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        SortedMap<String, String> acknowledged;
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            for (int i = 0; i < 50; i++) {
                client.put("k" + i, "v" + i);
            }
            acknowledged = client.acknowledged();
        }
        // Crash rather than shut down: only what FUA made durable may count.
        node.crash(spec.name(), "the test pulls the plug before copying the disk");
        harness.close();
        Path copy = directory.resolve("copy");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(directory.resolve("volumes"))) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        harness = new SimHarness(directory.resolve("second"), copy);
        SimulatedHypervisor other = harness.node("b");
        other.define(spec);
        other.start(spec.name());
        assertEquals(50, other.stats(spec.name()).keys());
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            for (Map.Entry<String, String> entry : acknowledged.entrySet()) {
                assertEquals(Optional.of(entry.getValue()), client.get(entry.getKey()), entry.getKey());
            }
            assertEquals("b", client.stats().node());
            assertEquals(51, client.put("next", "one"));
        }
    }

    @Test
    void aLiveMigrationUnderFiftyMibPerSecondOfDirtyingKeepsEveryAcknowledgedPut() throws Exception {
        SimulatedHypervisor source = harness.node("a");
        SimulatedHypervisor target = harness.node("b");
        VmSpec spec = SimHarness.kv("moving", 256L << 20, Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "50MiB"));
        source.define(spec);
        source.start(spec.name());
        awaitTrue(() -> source.stats(spec.name()).pagesDirtied() > 2000, "the dirtier does not run");

        AtomicBoolean stop = new AtomicBoolean();
        List<Long> sequences = new ArrayList<>();
        KvClient writer = SimHarness.client(spec, DEADLINE);
        long[] slowestPutNanos = new long[1];
        CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
            for (int i = 0; !stop.get(); i++) {
                long began = System.nanoTime();
                long sequence = writer.put("m-" + i, "v-" + i);
                long took = System.nanoTime() - began;
                synchronized (sequences) {
                    sequences.add(sequence);
                    slowestPutNanos[0] = Math.max(slowestPutNanos[0], took);
                }
            }
        }, background);
        awaitTrue(() -> sizeOf(sequences) > 20, "no PUT acknowledged before the migration");
        String bootId = source.stats(spec.name()).bootId();

        GuestMemory from = source.guestMemory(spec.name());
        IncomingVm incoming = target.prepareIncoming(spec);
        from.startDirtyLogging();
        HypervisorContractSupport.CopyReport report = HypervisorContractSupport.preCopy(from, incoming.memory(), 30,
                64);
        long pauseStart = System.nanoTime();
        source.pause(spec.name());
        long lastRound = HypervisorContractSupport.copyLastRound(from, incoming.memory());
        long sequenceAtPause = source.stats(spec.name()).lastSequence();
        byte[] deviceState = source.saveDeviceState(spec.name());
        from.stopDirtyLogging();
        incoming.activate(deviceState);
        long pauseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pauseStart);
        source.destroy(spec.name());
        System.out.printf("migration of 256 MiB under 50 MiB/s: %d rounds, %d pages sent, %d zero, last pre-copy "
                + "round %d pages, final round %d pages, pause %d ms%n", report.rounds(), report.pagesSent(),
                report.zeroPages(), report.lastRoundPages(), lastRound, pauseMillis);

        int atSwitch = sizeOf(sequences);
        awaitTrue(() -> sizeOf(sequences) > atSwitch + 50, "the writer made no progress on the target");
        stop.set(true);
        writes.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);

        synchronized (sequences) {
            System.out.printf("%d PUTs acknowledged across the migration; the slowest took %d ms%n", sequences.size(),
                    TimeUnit.NANOSECONDS.toMillis(slowestPutNanos[0]));
        }
        assertEquals(Map.of(), writer.verifyAll(), "acknowledged PUTs missing or wrong after the migration");
        KvClient.Stats stats = writer.stats();
        assertEquals("b", stats.node(), "the guest answers from the target");
        assertEquals(bootId, stats.bootId(), "a migration is not a boot: the target ran from memory, no replay");
        assertEquals(writer.acknowledged().size(), stats.keys(), "keys in the migrated table");
        assertTrue(writer.reconnects() > 0, "the client never lost its connection: did the endpoint move?");
        synchronized (sequences) {
            for (int i = 1; i < sequences.size(); i++) {
                assertTrue(sequences.get(i) > sequences.get(i - 1), "sequence numbers went back at PUT " + i + ": "
                        + sequences.get(i - 1) + " then " + sequences.get(i));
            }
            assertTrue(sequences.get(sequences.size() - 1) > sequenceAtPause, "the target did not continue the log");
        }
        assertTrue(target.stats(spec.name()).pagesDirtied() > 0, "the dirtier must run on in the target");
        writer.close();
    }

    private static int sizeOf(List<Long> list) {
        synchronized (list) {
            return list.size();
        }
    }

    @Test
    void aCrashKillsTheGuestAbruptlyAndARestartReplaysItsLog() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        EventRecorder events = new EventRecorder();
        node.addListener(events);
        VmSpec spec = SimHarness.kv("crashing", 64L << 20, Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "10MiB"));
        node.define(spec);
        node.start(spec.name());
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            for (int i = 0; i < 30; i++) {
                client.put("c" + i, "v" + i);
            }
            String bootBefore = node.stats(spec.name()).bootId();
            GuestMemory memory = node.guestMemory(spec.name());
            memory.startDirtyLogging();

            node.crash(spec.name(), "injected by the test");

            assertEquals("injected by the test", events.await(spec.name(), VmEvent.Kind.CRASHED, DEADLINE).event()
                    .detail());
            assertEquals(VmState.CRASHED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
            assertThrows(ConnectException.class, () -> SimHarness.connect(spec).close(),
                    "the crashed guest's listener must be closed");
            assertThrows(io.avance.api.migration.MigrationException.class,
                    () -> memory.fetchAndClearDirtyPages(new long[(int) (memory.pageCount() / 64)]),
                    "the crashed guest's memory is gone");
            assertThrows(HypervisorException.class, () -> node.stats(spec.name()));

            node.start(spec.name());
            assertNotEquals(bootBefore, node.stats(spec.name()).bootId());
            assertEquals(Map.of(), client.verifyAll(), "acknowledged PUTs after the crash and restart");
            assertEquals(31, client.put("after", "crash"), "the sequence continues from the log");
        }
    }

    @Test
    void aPausedGuestTouchesNeitherMemoryNorDiskAndRequestsWait() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("frozen", 64L << 20, Map.of(SimulatedHypervisor.OPTION_DIRTY_RATE, "50MiB",
                SimulatedHypervisor.OPTION_DISK_RATE, "4MiB"));
        node.define(spec);
        node.start(spec.name());
        awaitTrue(() -> node.stats(spec.name()).pagesDirtied() > 100 && node.stats(spec.name()).diskBlocksWritten() > 5,
                "the guest's background writers do not run");
        GuestMemory memory = node.guestMemory(spec.name());
        long[] bitmap = new long[(int) (memory.pageCount() / 64)];
        memory.startDirtyLogging();

        node.pause(spec.name());
        memory.fetchAndClearDirtyPages(bitmap);
        GuestStats paused = node.stats(spec.name());
        assertTrue(paused.paused());
        KvClient client = SimHarness.client(spec, DEADLINE);
        CompletableFuture<Optional<String>> get = CompletableFuture.supplyAsync(() -> client.get("nothing"),
                background);
        // Watch for 300 ms, checking over and over that nothing moves. A running guest at 50 MiB/s
        // dirties ~3800 pages in that time, so any leak through the pause shows.
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() < end) {
            java.util.Arrays.fill(bitmap, 0);
            memory.fetchAndClearDirtyPages(bitmap);
            assertEquals(0, HypervisorContractSupport.count(bitmap), "a paused guest dirtied pages");
            GuestStats now = node.stats(spec.name());
            assertEquals(paused.pagesDirtied(), now.pagesDirtied(), "the dirtier ran while paused");
            assertEquals(paused.diskBlocksWritten(), now.diskBlocksWritten(), "the disk writer ran while paused");
            assertFalse(get.isDone(), "a paused guest answered a request");
            Thread.onSpinWait();
        }
        node.resume(spec.name());
        assertEquals(Optional.empty(), get.get(DEADLINE.toSeconds(), TimeUnit.SECONDS),
                "the request waiting at the pause is answered after resume");
        awaitTrue(() -> node.stats(spec.name()).pagesDirtied() > paused.pagesDirtied(), "the dirtier did not resume");
        memory.stopDirtyLogging();
        client.close();
    }

    @Test
    void aOneGibibyteGuestIsCheapToCreateAndToRead() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimulatedHypervisor.kvSpec("big", 1L << 30, new VmSpec.Disk("disk-big", 4L << 20, 1),
                Map.of());
        node.define(spec);
        long start = System.nanoTime();
        node.start(spec.name());
        long startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        GuestRam memory = (GuestRam) node.guestMemory(spec.name());
        assertEquals(262_144, memory.pageCount());
        assertEquals(1, memory.allocatedChunks(), "a fresh 1 GiB kv guest touches only its header's chunk");
        for (int i = 0; i < 100; i++) {
            assertTrue(node.request(spec.name(), "PUT big-" + i + " v").startsWith("OK "));
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        long nonZero = 0;
        long readStart = System.nanoTime();
        for (long page = 0; page < memory.pageCount(); page += 256) {
            buffer.clear();
            memory.readPages(page, 256, buffer);
            for (int offset = 0; offset < buffer.capacity(); offset += GuestRam.PAGE_SIZE) {
                for (int at = offset; at < offset + GuestRam.PAGE_SIZE; at += 8) {
                    if (buffer.getLong(at) != 0) {
                        nonZero++;
                        break;
                    }
                }
            }
        }
        long readMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - readStart);
        System.out.printf("1 GiB guest: started in %d ms, read in %d ms, %d non-zero pages, %d chunks%n", startMillis,
                readMillis, nonZero, memory.allocatedChunks());
        // That it is cheap is shown by what it touched (one chunk, above), not by a timing, which a
        // loaded machine can stretch at will.
        assertTrue(nonZero >= 2 && nonZero <= 101, "non-zero pages: the header and the slots of 100 keys, not "
                + nonZero);
    }

    @Test
    void badRequestsGetErrAndTheConnectionGoesOn() throws IOException {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("strict", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        try (Socket socket = SimHarness.connect(spec)) {
            socket.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            assertReply(in, out, "FOO bar", "ERR unknown command 'FOO'");
            assertReply(in, out, "PUT a", "ERR usage: PUT <key> <value>");
            assertReply(in, out, "PUT a b c", "ERR usage: PUT <key> <value>");
            assertReply(in, out, "GET", "ERR usage: GET <key>");
            assertReply(in, out, "PUT " + "k".repeat(65) + " v", "ERR key must be 1-64 characters");
            assertReply(in, out, "PUT k " + "v".repeat(185), "ERR value must be 1-184 characters");
            assertReply(in, out, "PUT k v\u007f", "ERR value must be printable ASCII");
            assertReply(in, out, "PUT k  v", "ERR usage");
            assertReply(in, out, "PUT k v\r", "OK 1");
            assertReply(in, out, "GET k", "VALUE v");
            assertReply(in, out, "GET other", "NONE");
            assertReply(in, out, "STATS", "STATS keys=1 seq=1 boot=" + node.stats(spec.name()).bootId() + " node=a");
            out.write(("GET " + "x".repeat(2000) + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertTrue(in.readLine().startsWith("ERR request longer than 1024 bytes"));
            assertEquals(null, in.readLine(), "an overlong line closes the connection");
        }
    }

    private static void assertReply(BufferedReader in, OutputStream out, String request, String expectedStart)
            throws IOException {
        out.write((request + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String reply = in.readLine();
        assertTrue(reply != null && reply.startsWith(expectedStart), () -> "'" + request + "' got '" + reply
                + "', expected '" + expectedStart + "...'");
    }

    @Test
    void aFullTableAndAFullLogAreRefusedWithErr() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec small = new VmSpec("small", 1, 1L << 20, List.of(new VmSpec.Disk("disk-small", 1L << 20, 1)),
                List.of(), Map.of());
        node.define(small);
        node.start(small.name());
        for (int i = 0; i < 768; i++) {
            assertTrue(node.request(small.name(), "PUT k" + i + " v").startsWith("OK "), "key " + i);
        }
        String full = node.request(small.name(), "PUT one-more v");
        assertTrue(full.startsWith("ERR table full: a guest of 1 MiB holds at most 768 keys"), full);
        assertTrue(node.request(small.name(), "PUT k5 new").startsWith("OK "), "a key already there still updates");

        VmSpec tiny = new VmSpec("tiny", 1, 16L << 20, List.of(new VmSpec.Disk("disk-tiny", 64 << 10, 1)),
                List.of(), Map.of());
        node.define(tiny);
        node.start(tiny.name());
        String value = "v".repeat(KvTable.MAX_VALUE);
        int accepted = 0;
        String reply;
        while ((reply = node.request(tiny.name(), "PUT " + String.format("%064d", accepted) + " " + value))
                .startsWith("OK ")) {
            accepted++;
        }
        assertTrue(reply.startsWith("ERR disk log full"), reply);
        assertEquals((48 << 10) / KvLog.MAX_RECORD_BYTES, accepted, "records of 267 bytes in a 48 KiB log area");
        assertEquals(accepted, node.stats(tiny.name()).keys(), "a refused PUT is not applied");
    }

    @Test
    void theNicUnplugsWithTheDeviceStateAndResumePlugsItBack() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("nic", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        try (KvClient client = SimHarness.client(spec, DEADLINE)) {
            client.put("before", "1");
            node.pause(spec.name());
            SimHarness.connect(spec).close();
            node.saveDeviceState(spec.name());
            assertThrows(ConnectException.class, () -> SimHarness.connect(spec).close(),
                    "after the device state is saved, the endpoint belongs to the target");
            assertTrue(node.stats(spec.name()).endpoint().isEmpty());
            node.resume(spec.name());
            awaitTrue(() -> node.stats(spec.name()).endpoint().isPresent(), "the NIC was not plugged back in");
            assertEquals(Optional.of("1"), client.get("before"), "the client reconnects to the resumed VM");
            assertTrue(client.reconnects() > 0);
        }
    }

    @Test
    void aVmRunningHereCannotBeReceivedHere() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("twin", 16L << 20, Map.of());
        node.define(spec);
        node.start(spec.name());
        HypervisorException refused = assertThrows(HypervisorException.class, () -> node.prepareIncoming(spec));
        assertTrue(refused.getMessage().contains("RUNNING"), refused.getMessage());
        assertEquals(VmState.RUNNING, node.info(spec.name()).map(VmInfo::state).orElseThrow());
        VmSpec other = SimHarness.kv("twin", 32L << 20, Map.of());
        assertThrows(HypervisorException.class, () -> node.prepareIncoming(other), "another spec under the same name");
    }

    @Test
    void anIncomingVmThatWasNotDefinedHereIsForgottenWhenAborted() {
        SimulatedHypervisor node = harness.node("a");
        VmSpec spec = SimHarness.kv("visitor", 16L << 20, Map.of());
        IncomingVm incoming = node.prepareIncoming(spec);
        assertEquals(VmState.PAUSED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
        assertThrows(HypervisorException.class, () -> node.resume(spec.name()), "an incoming VM runs on activate");
        incoming.abort();
        assertTrue(node.info(spec.name()).isEmpty(), "an aborted visitor is not left defined");
        incoming.abort();
        assertThrows(IllegalStateException.class, () -> incoming.activate(new byte[0]), "activate after abort");

        node.define(spec);
        IncomingVm again = node.prepareIncoming(spec);
        again.abort();
        assertEquals(VmState.STOPPED, node.info(spec.name()).map(VmInfo::state).orElseThrow(),
                "a VM defined here stays defined after an aborted migration");
    }

    @Test
    void memoryThatDoesNotFitIsRefused() {
        SimulatedHypervisor node = harness.node("a", new HostResources(2, 256L << 20));
        VmSpec first = SimHarness.kv("first", 192L << 20, Map.of());
        VmSpec second = SimHarness.kv("second", 128L << 20, Map.of());
        node.define(first);
        node.define(second);
        node.start(first.name());
        HypervisorException refused = assertThrows(HypervisorException.class, () -> node.start(second.name()));
        assertTrue(refused.getMessage().contains("not enough memory"), refused.getMessage());
        assertEquals(VmState.DEFINED, node.info(second.name()).map(VmInfo::state).orElseThrow());
        node.shutdown(first.name());
        node.start(second.name());
        assertEquals(VmState.RUNNING, node.info(second.name()).map(VmInfo::state).orElseThrow());
    }

    @Test
    void aDiskThatCannotBeAttachedFailsTheBootAsACrash() throws Exception {
        SimulatedHypervisor node = harness.node("a");
        EventRecorder events = new EventRecorder();
        node.addListener(events);
        VmSpec spec = SimHarness.kv("nodisk", 16L << 20, Map.of());
        node.define(spec);
        harness.volumes.serving(false);
        HypervisorException refused = assertThrows(HypervisorException.class, () -> node.start(spec.name()));
        assertTrue(refused.getMessage().contains("not serving"), refused.getMessage());
        assertEquals(VmState.CRASHED, node.info(spec.name()).map(VmInfo::state).orElseThrow());
        events.await(spec.name(), VmEvent.Kind.CRASHED, DEADLINE);
        harness.volumes.serving(true);
        node.start(spec.name());
        assertEquals(VmState.RUNNING, node.info(spec.name()).map(VmInfo::state).orElseThrow());
    }
}
