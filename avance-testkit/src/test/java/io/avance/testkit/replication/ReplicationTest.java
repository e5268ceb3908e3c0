package io.avance.testkit.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.replication.DataState;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.VerifyReport;
import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeException;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.replication.ReplicatedVolume;
import io.avance.core.storage.BlockStoreFactory;
import io.avance.testkit.storage.FailingBlockStores;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication between two volume managers on a real private link (loopback TCP), on real files.
 * The roles are set by the test; the failover engine is not involved.
 */
class ReplicationTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;

    @Test
    void aWriteCompletesOnlyOnceTheBackupHasItAndConcurrentOverlappingWritesEndTheSameOnBoth() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 64 * MIB));
            Random random = new Random(1);
            // One at a time: when a write completes, the backup's file already holds it.
            for (int i = 0; i < 200; i++) {
                long offset = random.nextInt((int) (64 * MIB - 256 * 1024));
                byte[] data = bytes(random, 1 + random.nextInt(256 * 1024));
                volume.write(offset, ByteBuffer.wrap(data), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
                assertArrayEquals(data, readFile(file(pair.b(), "v"), offset, data.length),
                        "write " + i + " at " + offset + " completed before the backup had it");
            }
            // Many at once, overlapping in a small hot region: both copies end the same.
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                long offset = random.nextInt(4 << 20);
                writes.add(volume.write(offset, ByteBuffer.wrap(bytes(random, 1 + random.nextInt(64 * 1024))),
                        random.nextInt(10) == 0).toCompletableFuture());
            }
            CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            volume.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
            assertEquals(ReplicationState.SYNCED, volume.status().state());
            assertEquals(0, volume.status().dirtyBytes());
        }
    }

    @Test
    void zeroesAndTrimsReplicateAndReadAsZeros() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            Random random = new Random(2);
            volume.write(0, ByteBuffer.wrap(bytes(random, (int) (8 * MIB))), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            volume.writeZeroes(4096, 100_000, true).toCompletableFuture().get(30, TimeUnit.SECONDS);
            volume.trim(MIB, 3 * MIB).toCompletableFuture().get(30, TimeUnit.SECONDS);
            ByteBuffer back = ByteBuffer.allocate(100_000);
            volume.read(4096, back).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(new byte[100_000], back.array());
            assertArrayEquals(new byte[(int) (3 * MIB)], readFile(file(pair.b(), "v"), MIB, (int) (3 * MIB)));
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
        }
    }

    @Test
    void whileTheBackupIsAwayOnlyTheChangedBlocksAreResentWhenItReturns() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 256 * MIB));
            Random random = new Random(3);
            volume.write(0, ByteBuffer.wrap(bytes(random, (int) (32 * MIB))), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            pair.disconnect();
            pair.await(() -> volume.status().state() == ReplicationState.DEGRADED, LIMIT,
                    () -> "the primary never noticed the backup left: " + volume.status());
            TreeSet<Long> blocks = new TreeSet<>();
            for (int i = 0; i < 500; i++) {
                long block = random.nextInt((int) (256 * MIB / 4096));
                blocks.add(block);
                volume.write(block * 4096, ByteBuffer.wrap(bytes(random, 4096)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            long dirty = blocks.size() * 4096L;
            assertEquals(dirty, volume.status().dirtyBytes());
            assertEquals(1, pair.a().fenceRequests(), "the first write without the peer announces it, once");
            pair.connect();
            awaitSynced(pair, "v");
            ReplicatedVolume source = pair.a().volumes().volume("v").orElseThrow();
            ReplicatedVolume target = pair.b().volumes().volume("v").orElseThrow();
            assertEquals(dirty, target.resyncBytesReceived(), "the backup received exactly the changed blocks");
            assertTrue(source.resyncBytesSent() <= dirty * 105 / 100, "sent " + source.resyncBytesSent()
                    + " bytes for " + dirty + " dirty");
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
            assertEquals(DataState.UP_TO_DATE, target.dataState());
        }
    }

    @Test
    void aResyncThatRunsWhileTheApplicationWritesEndsWithIdenticalCopies() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory, BlockStoreFactory.files(), BlockStoreFactory.files(),
                16 * MIB)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 64 * MIB));
            Random random = new Random(4);
            pair.disconnect();
            pair.await(() -> volume.status().state() == ReplicationState.DEGRADED, LIMIT,
                    () -> "never degraded: " + volume.status());
            volume.write(0, ByteBuffer.wrap(bytes(random, (int) (24 * MIB))), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            pair.connect();
            pair.await(() -> volume.status().state() == ReplicationState.SYNC_SOURCE, LIMIT,
                    () -> "the resync never started: " + volume.status());
            // The resync is limited to 16 MiB/s, so it takes over a second: write all through it.
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            while (volume.status().state() == ReplicationState.SYNC_SOURCE) {
                long offset = random.nextInt((int) (32 * MIB));
                writes.add(volume.write(offset, ByteBuffer.wrap(bytes(random, 1 + random.nextInt(32 * 1024))), false)
                        .toCompletableFuture());
                if (writes.size() % 32 == 0) {
                    CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
                }
            }
            CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
            assertTrue(writes.size() > 100, "only " + writes.size() + " writes ran during the resync");
            awaitSynced(pair, "v");
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
            assertTrue(pair.a().events().stream().anyMatch(e -> e instanceof io.avance.api.event.ResyncProgressed),
                    "resync progress was published");
        }
    }

    @Test
    void splitBrainIsReportedAndNothingIsDiscardedUntilTheOperatorChooses() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            Volume onA = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            Random random = new Random(5);
            onA.write(0, ByteBuffer.wrap(bytes(random, (int) MIB)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            pair.disconnect();
            byte[] fromA = bytes(random, 4096);
            onA.write(8 * 4096, ByteBuffer.wrap(fromA), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            // The pair splits: b takes over without hearing of a's write.
            pair.a().setPrimary(false);
            pair.b().setPrimary(true);
            Volume onB = pair.b().volumes().open("v");
            byte[] fromB = bytes(random, 4096);
            onB.write(100 * 4096, ByteBuffer.wrap(fromB), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            pair.connect();
            pair.await(() -> onB.status().state() == ReplicationState.SPLIT_BRAIN
                            && pair.a().volumes().volume("v").orElseThrow().state() == ReplicationState.SPLIT_BRAIN,
                    LIMIT, () -> "split brain not reported: a " + pair.a().volumes().volumes() + " b " + onB.status());
            // Each copy keeps its own change; the primary keeps serving.
            assertArrayEquals(fromA, readFile(file(pair.a(), "v"), 8 * 4096, 4096));
            assertArrayEquals(fromB, readFile(file(pair.b(), "v"), 100 * 4096, 4096));
            assertFalse(java.util.Arrays.equals(fromB, readFile(file(pair.a(), "v"), 100 * 4096, 4096)));
            onB.write(200 * 4096, ByteBuffer.wrap(bytes(random, 4096)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(pair.b().events().stream().anyMatch(e -> e instanceof io.avance.api.event.VolumeStateChanged c
                    && c.to() == ReplicationState.SPLIT_BRAIN));

            VolumeException refused = assertThrows(VolumeException.class,
                    () -> pair.b().volumes().resolveSplitBrain("v", NodeId.of("b")));
            assertTrue(refused.getMessage().contains("switchover"), refused.getMessage());
            pair.b().volumes().resolveSplitBrain("v", NodeId.of("a"));
            awaitSynced(pair, "v");
            assertEquals(sha256(file(pair.b(), "v")), sha256(file(pair.a(), "v")));
            assertArrayEquals(fromB, readFile(file(pair.a(), "v"), 100 * 4096, 4096));
        }
    }

    @Test
    void onlineVerifyFindsTheBlocksThatDifferAndCanRepairThem() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 32 * MIB));
            Random random = new Random(6);
            volume.write(0, ByteBuffer.wrap(bytes(random, (int) (8 * MIB))), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            volume.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
            // Silent corruption of the backup's copy, behind the engine's back.
            try (FileChannel channel = FileChannel.open(file(pair.b(), "v"), StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5 * 4096 + 17);
                channel.write(ByteBuffer.wrap(new byte[] {9}), 3000L * 4096);
                channel.force(false);
            }
            VerifyReport report = pair.a().volumes().verify("v", false).toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(List.of(5L, 3000L), report.mismatchedBlocks());
            assertEquals(32 * MIB / 4096, report.blocksCompared());
            assertFalse(sha256(file(pair.a(), "v")).equals(sha256(file(pair.b(), "v"))));

            VerifyReport repair = pair.a().volumes().verify("v", true).toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(2, repair.mismatchCount());
            awaitSynced(pair, "v");
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
            VerifyReport clean = pair.a().volumes().verify("v", false).toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(0, clean.mismatchCount());
        }
    }

    @Test
    void verifyMarksAreDurableBeforeTheReportCompletes() throws Exception {
        // One byte per second: the repair's resync cannot reach the second block during the test.
        try (ReplicaPair pair = new ReplicaPair(directory, BlockStoreFactory.files(), BlockStoreFactory.files(), 1)) {
            startSynced(pair, VolumeSpec.of("v", 32 * MIB));
            try (FileChannel channel = FileChannel.open(file(pair.b(), "v"), StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.wrap(new byte[] {9}), 5 * 4096L);
                channel.write(ByteBuffer.wrap(new byte[] {9}), 3000L * 4096);
                channel.force(false);
            }
            VerifyReport repair = pair.a().volumes().verify("v", true).toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(List.of(5L, 3000L), repair.mismatchedBlocks());
            // Block 3000 lies outside every extent the activity log holds: were its mark only in
            // memory, a crash of the primary now would leave the copies different for good.
            ByteBuffer word = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel bitmap = FileChannel.open(pair.a().directory().resolve("v.bitmap"),
                    StandardOpenOption.READ)) {
                bitmap.read(word, 64 + (3000L >>> 6) * 8);
            }
            assertTrue((word.getLong(0) & 1L << (3000 & 63)) != 0, "block 3000's mark is not in the bitmap file");
        }
    }

    @Test
    void whenThePrimaryDiskFailsItsVolumeIsServedFromTheBackupsCopy() throws Exception {
        FailingBlockStores storesA = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, storesA, BlockStoreFactory.files(), 0)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            Random random = new Random(7);
            byte[] before = bytes(random, (int) MIB);
            volume.write(0, ByteBuffer.wrap(before), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            storesA.fail("v");
            ByteBuffer read = ByteBuffer.allocate((int) MIB);
            volume.read(0, read).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(before, read.array(), "the read came from the backup's copy");
            byte[] after = bytes(random, 8192);
            volume.write(2 * MIB, ByteBuffer.wrap(after), true).toCompletableFuture().get(30, TimeUnit.SECONDS);
            volume.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(after, readFile(file(pair.b(), "v"), 2 * MIB, 8192));
            ByteBuffer again = ByteBuffer.allocate(8192);
            volume.read(2 * MIB, again).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(after, again.array());
            assertEquals(DataState.FAILED, pair.a().volumes().dataState());
            assertFalse(pair.a().diskFailures().isEmpty(), "the node was told, to start a graceful failover");

            // With the backup gone too, the volume fails cleanly rather than hanging.
            pair.disconnect();
            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> volume.read(0, ByteBuffer.allocate(4096)).toCompletableFuture().get(30, TimeUnit.SECONDS));
            assertTrue(failed.getCause() instanceof VolumeException, failed.toString());

            // The backup returns: the failed disk is never a resync source, and the backup's copy,
            // with the write made after the failure, is served again.
            ReplicatedVolume primary = pair.a().volumes().volume("v").orElseThrow();
            long sentBefore = primary.resyncBytesSent();
            pair.connect();
            pair.await(() -> state(pair.a(), "v") == ReplicationState.SYNCED, LIMIT,
                    () -> "the failed primary never served the backup's copy again: " + volume.status());
            assertEquals(sentBefore, primary.resyncBytesSent(), "a resync was sent from the failed disk");
            ByteBuffer back = ByteBuffer.allocate(8192);
            volume.read(2 * MIB, back).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(after, back.array());
        }
    }

    @Test
    void aPrimaryWhoseDiskFailedDoesNotServeABlankReplacementOfTheBackupsCopyAsCurrent() throws Exception {
        FailingBlockStores storesA = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, storesA, BlockStoreFactory.files(), 0)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 8 * MIB));
            byte[] written = bytes(new Random(10), (int) MIB);
            volume.write(0, ByteBuffer.wrap(written), true).toCompletableFuture().get(30, TimeUnit.SECONDS);
            storesA.fail("v");
            ByteBuffer read = ByteBuffer.allocate(4096);
            volume.read(0, read).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(DataState.FAILED, pair.a().volumes().dataState());

            // The backup's disk is replaced too: its directory is wiped and it starts again, empty.
            // No copy of the written data is left: reading it must fail, never return zeros.
            replaceTheBackupsDiskWithABlankOne(pair);
            pair.await(() -> state(pair.a(), "v") == ReplicationState.SYNCED, LIMIT,
                    () -> "the failed primary never took the blank copy's description: " + volume.status());
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> volume.read(0, ByteBuffer.allocate(4096)).toCompletableFuture().get(30, TimeUnit.SECONDS),
                    "the blank replacement was served as the volume's data");
            assertTrue(refused.getCause() instanceof VolumeException, refused.toString());
            assertEquals(8 * MIB, volume.status().dirtyBytes(), "every block is unavailable: " + volume.status());
            assertTrue(pair.b().volumes().volume("v").orElseThrow().dataState() != DataState.UP_TO_DATE,
                    "the blank copy was called up to date, and rule 5 would hand it the primary role");
        }
    }

    @Test
    void aStandaloneNodeTracksEveryWriteForThePeerThatJoinsLater() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            pair.a().setPrimary(true);
            Volume volume = pair.a().volumes().create(VolumeSpec.of("v", 64 * MIB));
            Random random = new Random(8);
            volume.write(3 * MIB, ByteBuffer.wrap(bytes(random, (int) MIB)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            volume.write(40 * MIB, ByteBuffer.wrap(bytes(random, 4096)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(MIB + 4096, volume.status().dirtyBytes());
            // The peer's first contact creates its replica and resends only what was written.
            pair.connect();
            awaitSynced(pair, "v");
            assertEquals(MIB + 4096, pair.b().volumes().volume("v").orElseThrow().resyncBytesReceived());
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
        }
    }

    @Test
    void aBlankReplacementDiskIsResyncedInFullNotTakenAsInSync() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            VolumeSpec spec = VolumeSpec.of("v", 8 * MIB);
            Volume volume = startSynced(pair, spec);
            volume.write(MIB, ByteBuffer.wrap(bytes(new Random(9), (int) MIB)), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            // The backup's disk is replaced: its directory is wiped and it starts again, empty.
            replaceTheBackupsDiskWithABlankOne(pair);
            awaitSynced(pair, "v");
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
        }
    }

    @Test
    void theBackupRefusesClientIoAndACleanRestartNeedsNoResync() throws Exception {
        try (ReplicaPair pair = new ReplicaPair(directory)) {
            VolumeSpec spec = VolumeSpec.of("v", 8 * MIB);
            startSynced(pair, spec);
            Volume replica = pair.b().volumes().open("v");
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> replica.write(0, ByteBuffer.allocate(512), false).toCompletableFuture().get(30, TimeUnit.SECONDS));
            assertEquals(VolumeException.Reason.NOT_SERVING, ((VolumeException) refused.getCause()).reason());
            pair.b().restart(List.of(spec));
            awaitSynced(pair, "v");
            assertEquals(0, pair.a().volumes().volume("v").orElseThrow().resyncBytesSent());
        }
    }

    // ------------------------------------------------------------------------------------------

    @Test
    void writesInFlightWhenTheBackupVanishesAreAcknowledgedOnlyOnceItCanKnowItIsOutdated() throws Exception {
        FailingBlockStores backupStores = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, BlockStoreFactory.files(), backupStores, 0)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            // The backup's disk hangs: the write reaches it but is never acknowledged.
            backupStores.stall("v");
            CompletableFuture<Void> fence = new CompletableFuture<>();
            pair.a().answerDegradedFence(() -> fence);
            CompletableFuture<Void> write = volume.write(8192, ByteBuffer.wrap(bytes(new Random(9), 4096)), false)
                    .toCompletableFuture();
            pair.disconnect();
            pair.await(() -> volume.status().state() == ReplicationState.DEGRADED, LIMIT,
                    () -> "the primary never noticed the backup left: " + volume.status());
            // The write was orphaned in the same step: it waits for the fence, in the bitmap.
            assertFalse(write.isDone(), "a write the backup never acknowledged completed before the fence");
            assertEquals(1, pair.a().fenceRequests());
            assertEquals(4096, volume.status().dirtyBytes());
            fence.complete(null);
            write.get(30, TimeUnit.SECONDS);
            backupStores.release("v");
            pair.connect();
            awaitSynced(pair, "v");
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
        }
    }

    @Test
    void aBackupThatStopsAcknowledgingIsDroppedAndTheApplicationGoesOn() throws Exception {
        FailingBlockStores backupStores = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, BlockStoreFactory.files(), backupStores, 0)) {
            pair.a().ackTimeout(Duration.ofMillis(500));
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            backupStores.stall("v");
            long started = System.nanoTime();
            volume.write(0, ByteBuffer.wrap(bytes(new Random(10), 65536)), false).toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
            long waitedMillis = (System.nanoTime() - started) / 1_000_000;
            assertTrue(waitedMillis >= 400, "completed after " + waitedMillis + " ms, before the timeout");
            // (Its blocks may already be on their way again: the link reconnects at once, and a resync
            // run in flight no longer counts as dirty. The resync below is what proves it was tracked.)
            // The disk recovers: the link reconnects and the resync repairs the copy.
            backupStores.release("v");
            awaitSynced(pair, "v");
            volume.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(sha256(file(pair.a(), "v")), sha256(file(pair.b(), "v")));
        }
    }

    @Test
    void aReadFromABackupWhoseDiskHangsFailsAfterTheTimeoutInsteadOfHanging() throws Exception {
        FailingBlockStores storesA = new FailingBlockStores(BlockStoreFactory.files());
        FailingBlockStores storesB = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, storesA, storesB, 0)) {
            pair.a().ackTimeout(Duration.ofMillis(500));
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            byte[] data = bytes(new Random(11), 8192);
            volume.write(0, ByteBuffer.wrap(data), false).toCompletableFuture().get(30, TimeUnit.SECONDS);
            // The primary's disk fails (reads go to the backup), then the backup's disk hangs.
            storesA.fail("v");
            storesB.stallReads("v");
            long dropsBefore = drops(pair.a());
            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> volume.read(0, ByteBuffer.allocate(8192)).toCompletableFuture().get(30, TimeUnit.SECONDS));
            VolumeException cause = (VolumeException) failed.getCause();
            assertEquals(VolumeException.Reason.IO_ERROR, cause.reason(), cause.toString());
            // The primary drops the backup that did not answer, on its own thread: wait for that,
            // so that SYNCED below is the link back, not the state just before the drop.
            pair.await(() -> drops(pair.a()) > dropsBefore, LIMIT,
                    () -> "the backup that did not answer was never dropped: " + volume.status());
            // The backup's disk recovers: the link comes back and the read is served from its copy.
            storesB.release("v");
            pair.await(() -> state(pair.a(), "v") == ReplicationState.SYNCED, LIMIT,
                    () -> "the link never came back: " + volume.status());
            ByteBuffer again = ByteBuffer.allocate(8192);
            volume.read(0, again).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertArrayEquals(data, again.array());
        }
    }

    /** The backup stops, its directory is wiped, and it starts again, empty, and reconnects. */
    private static void replaceTheBackupsDiskWithABlankOne(ReplicaPair pair) throws IOException {
        pair.b().restart(List.of());
        pair.disconnect();
        try (var files = Files.list(pair.b().directory())) {
            for (Path path : files.toList()) {
                Files.delete(path);
            }
        }
        pair.b().restart(List.of());
        pair.connect();
    }

    /** How many times the node's volumes went DEGRADED (lost their peer). */
    private static long drops(ReplicaPair.Side node) {
        return node.events().stream().filter(e -> e instanceof io.avance.api.event.VolumeStateChanged c
                && c.to() == ReplicationState.DEGRADED).count();
    }

    @Test
    void aBackupWhoseDiskFailsDuringTheResyncIsNotSentTheRunAgainAndAgain() throws Exception {
        FailingBlockStores storesB = new FailingBlockStores(BlockStoreFactory.files());
        try (ReplicaPair pair = new ReplicaPair(directory, BlockStoreFactory.files(), storesB, 0)) {
            Volume volume = startSynced(pair, VolumeSpec.of("v", 16 * MIB));
            pair.disconnect();
            volume.write(0, ByteBuffer.wrap(bytes(new Random(12), (int) MIB)), false).toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
            // The backup comes back with a disk that fails every write: the resync cannot land.
            storesB.fail("v");
            pair.connect();
            ReplicatedVolume primary = pair.a().volumes().volume("v").orElseThrow();
            pair.await(() -> pair.a().events().stream().anyMatch(e -> e instanceof io.avance.api.event.VolumeStateChanged c
                            && c.to() == ReplicationState.DEGRADED && c.reason().contains("disk failed")), LIMIT,
                    () -> "the primary never gave up on the failed backup: " + volume.status());
            long sent = primary.resyncBytesSent();
            // Nothing more goes to it: no run is resent while its disk stays failed.
            assertThrows(AssertionError.class, () -> pair.await(() -> primary.resyncBytesSent() > sent,
                    Duration.ofSeconds(2), () -> "nothing resent"));
            assertEquals(ReplicationState.DEGRADED, primary.state());
            // The application goes on, degraded.
            volume.write(MIB, ByteBuffer.wrap(bytes(new Random(13), 4096)), false).toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
        }
    }

    private static Volume startSynced(ReplicaPair pair, VolumeSpec spec) throws InterruptedException {
        pair.a().setPrimary(true);
        Volume volume = pair.a().volumes().create(spec);
        pair.connect();
        awaitSynced(pair, spec.name());
        return volume;
    }

    private static void awaitSynced(ReplicaPair pair, String name) throws InterruptedException {
        pair.await(() -> state(pair.a(), name) == ReplicationState.SYNCED
                        && state(pair.b(), name) == ReplicationState.SYNCED, LIMIT,
                () -> "not in sync: a " + pair.a().volumes().volumes() + ", b " + pair.b().volumes().volumes());
    }

    private static ReplicationState state(ReplicaPair.Side side, String name) {
        return side.volumes().volume(name).map(ReplicatedVolume::state).orElse(null);
    }

    private static Path file(ReplicaPair.Side side, String name) {
        return side.directory().resolve(name + ".img");
    }

    private static byte[] bytes(Random random, int length) {
        byte[] data = new byte[length];
        random.nextBytes(data);
        return data;
    }

    private static byte[] readFile(Path file, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(length);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    break;
                }
            }
            return buffer.array();
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            while (channel.read(buffer) > 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
