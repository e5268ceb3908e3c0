package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.NativeMigration;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Xen's native live migration through the adapter, over a TCP socket, to a second domain on
 * the same host: the source is suspended live into the socket, the target restored from it and
 * kept paused until "our handshake" (here: the test) finishes the source and resumes the target.
 * Measures the migration time and the downtime of the 128 MiB guest, alone (no other test
 * class runs meanwhile).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Isolated("its timings are measured with nothing else running")
class XenMigrationInDom0 {

    private static final Duration GUEST = Duration.ofSeconds(90);
    private static final String TOKEN = "avance-migrated-" + UUID.randomUUID().toString().replace("-", "");
    private static Dom0Fixture xen;
    private static VmSpec spec;

    @BeforeAll
    static void start() throws Exception {
        xen = new Dom0Fixture();
        spec = Dom0Fixture.guest("mig1", TOKEN);
        xen.adapter.define(spec);
        xen.adapter.start("mig1");
        xen.awaitEvent("mig1", VmEvent.Kind.STARTED, GUEST);
        Dom0Fixture.await("the guest's init", GUEST, () -> Optional.of(Dom0Fixture.console("mig1"))
                .filter(text -> text.contains("avance-guest: up")));
    }

    @AfterAll
    static void stop() {
        if (xen != null) {
            xen.close();
        }
    }

    @Test
    @Order(1)
    void migratesLiveThroughASocketAndMeasuresTheDowntime() throws Exception {
        NativeMigration migration = xen.adapter.nativeMigration();
        String sourceDomain = xen.info("mig1").hypervisorId();
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CompletableFuture<VmInfo> received = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel in = listener.accept()) {
                    VmInfo info = migration.receive(spec, in);
                    // The engine's handshake runs on the same connection after the stream.
                    ByteBuffer go = ByteBuffer.allocate(2);
                    while (go.hasRemaining() && in.read(go) >= 0) {
                        // reading the sender's "GO"
                    }
                    assertEquals("GO", new String(go.array(), StandardCharsets.US_ASCII));
                    return info;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            // Watch the source: the moment libxl suspends it is the start of the downtime.
            AtomicLong suspendedAt = new AtomicLong();
            AtomicBoolean watching = new AtomicBoolean(true);
            CompletableFuture<Void> watcher = CompletableFuture.runAsync(() -> {
                while (watching.get() && suspendedAt.get() == 0) {
                    Optional<VmInfo> info = xen.adapter.info("mig1");
                    if (info.isPresent() && info.get().state() == VmState.MIGRATING) {
                        suspendedAt.compareAndSet(0, System.nanoTime());
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
                }
            });
            long started = System.nanoTime();
            try (SocketChannel out = SocketChannel.open(listener.getLocalAddress())) {
                migration.send("mig1", out);
                long sent = System.nanoTime();
                out.write(ByteBuffer.wrap("GO".getBytes(StandardCharsets.US_ASCII)));
                VmInfo paused = received.get(120, TimeUnit.SECONDS);
                assertEquals(VmState.PAUSED, paused.state());
                assertNotEquals(sourceDomain, paused.hypervisorId());
                // The source is suspended and renamed: resuming the target first keeps the
                // source's destruction out of the downtime.
                xen.adapter.resume("mig1");
                long resumed = System.nanoTime();
                migration.finishSource("mig1", true);
                watching.set(false);
                watcher.get(10, TimeUnit.SECONDS);
                assertTrue(suspendedAt.get() != 0, "the source was seen suspended");
                System.out.printf("XEN-METRIC live migration of the 128 MiB PVH guest: %.2f s in all (stream %.2f s),"
                        + " downtime %.0f ms (from the source seen suspended, polled every 10 ms, to the target resumed)%n",
                        (resumed - started) / 1e9, (sent - started) / 1e9, (resumed - suspendedAt.get()) / 1e6);
            }
        }
        System.out.println("checking the migrated VM");
        VmInfo after = xen.info("mig1");
        assertEquals(VmState.RUNNING, after.state());
        assertNotEquals(sourceDomain, after.hypervisorId(), "runs as the new domain");
        String xl = Dom0Fixture.run("xl", "list");
        assertTrue(!xl.contains("--incoming") && !xl.contains("--migratedaway"), xl);
        System.out.println("xl list after migration: " + xl);
        // The memory came along: the token the source's kernel held is in the target's RAM.
        GuestMemory memory = xen.adapter.guestMemory("mig1");
        assertTrue(contains(memory, TOKEN), "the token is in the migrated guest's memory");
        System.out.println("token found in the migrated guest");
        // And it still runs: it keeps writing memory, which log-dirty on the new domain sees.
        memory.startDirtyLogging();
        try {
            long[] bitmap = new long[(int) ((memory.pageCount() + 63) / 64)];
            memory.fetchAndClearDirtyPages(bitmap);
            Dom0Fixture.await("the migrated guest to write memory", GUEST, () -> {
                long[] round = new long[bitmap.length];
                memory.fetchAndClearDirtyPages(round);
                long dirty = 0;
                for (long word : round) {
                    dirty += Long.bitCount(word);
                }
                return dirty > 0 ? Optional.of(dirty) : Optional.empty();
            });
        } finally {
            memory.stopDirtyLogging();
        }
    }

    private static boolean contains(GuestMemory memory, String token) {
        byte[] needle = token.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buffer = ByteBuffer.allocateDirect(1024 * 4096);
        long ram = (128L << 20) / 4096;
        for (long page = 0; page < ram; page += 1024) {
            buffer.clear();
            memory.readPages(page, 1024, buffer);
            buffer.flip();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            if (text.contains(token) && needle.length > 0) {
                return true;
            }
        }
        return false;
    }

    @Test
    @Order(2)
    void aBrokenStreamLeavesTheVmRunningOnTheSource() throws Exception {
        String domain = xen.info("mig1").hypervisorId();
        NativeMigration migration = xen.adapter.nativeMigration();
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            // A "target" that reads 4 MiB of the stream and hangs up.
            CompletableFuture<Long> target = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel in = listener.accept()) {
                    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
                    long total = 0;
                    while (total < (4 << 20)) {
                        buffer.clear();
                        int n = in.read(buffer);
                        if (n < 0) {
                            break;
                        }
                        total += n;
                    }
                    return total;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SocketChannel out = SocketChannel.open(listener.getLocalAddress())) {
                HypervisorException e = assertThrows(HypervisorException.class, () -> migration.send("mig1", out));
                System.out.println("broken stream: " + e.getMessage());
            }
            assertTrue(target.get(60, TimeUnit.SECONDS) >= 4 << 20);
        }
        VmInfo info = xen.info("mig1");
        assertEquals(VmState.RUNNING, info.state(), "the VM keeps running here");
        assertEquals(domain, info.hypervisorId());
        assertTrue(Dom0Fixture.run("xl", "list", "mig1").contains("mig1"));
    }

    @Test
    @Order(3)
    void anAbandonedMigrationResumesTheSource() throws Exception {
        String domain = xen.info("mig1").hypervisorId();
        NativeMigration migration = xen.adapter.nativeMigration();
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CompletableFuture<VmInfo> received = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel in = listener.accept()) {
                    return migration.receive(spec, in);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SocketChannel out = SocketChannel.open(listener.getLocalAddress())) {
                migration.send("mig1", out);
            }
            VmInfo incoming = received.get(120, TimeUnit.SECONDS);
            // The handshake failed: the target's copy goes, the source resumes.
            Dom0Fixture.run("xl", "destroy", "mig1--incoming");
            migration.finishSource("mig1", false);
            xen.awaitEvent("mig1", VmEvent.Kind.RESUMED, GUEST);
            assertNotEquals(domain, incoming.hypervisorId());
        }
        VmInfo info = xen.info("mig1");
        assertEquals(VmState.RUNNING, info.state());
        assertEquals(domain, info.hypervisorId(), "the source domain runs again");
        xen.adapter.pause("mig1");
        xen.adapter.resume("mig1");
    }

    /**
     * A peer that hangs up before sending a byte (its send failed at once, as when its VM could
     * not migrate). libxl must never read that stream: its error path before the save helper
     * starts calls a NULL function pointer (seen as SIGSEGV at libxenlight.so.4.17+0x57e00).
     */
    @Test
    @Order(4)
    void anEmptyStreamIsRefusedAndLeavesNoDomain() throws Exception {
        assertReceiveFails(new byte[0]);
        // The abort marker of a sender whose libxl failed before writing a byte.
        assertReceiveFails(new byte[] {-1, -1, -1, -1});
        // Twenty bytes that are not libxl's stream.
        assertReceiveFails(ByteBuffer.allocate(24).putInt(20).put("not a libxl stream!!".getBytes(
                StandardCharsets.US_ASCII)).array());
    }

    private static void assertReceiveFails(byte[] wire) throws Exception {
        NativeMigration migration = xen.adapter.nativeMigration();
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CompletableFuture<Void> peer = CompletableFuture.runAsync(() -> {
                try (SocketChannel out = SocketChannel.open(listener.getLocalAddress())) {
                    ByteBuffer data = ByteBuffer.wrap(wire);
                    while (data.hasRemaining()) {
                        out.write(data);
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SocketChannel in = listener.accept()) {
                HypervisorException e = assertThrows(HypervisorException.class, () -> migration.receive(spec, in));
                System.out.println("refused stream of " + wire.length + " bytes: " + e.getMessage());
            }
            peer.get(60, TimeUnit.SECONDS);
        }
        Dom0Fixture.await("no incoming domain left", GUEST, () -> {
            try {
                String xl = Dom0Fixture.run("xl", "list");
                return xl.contains("mig1--incoming") ? Optional.empty() : Optional.of(xl);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        });
    }
}
