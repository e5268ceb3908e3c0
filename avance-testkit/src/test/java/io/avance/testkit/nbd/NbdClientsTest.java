package io.avance.testkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.avance.api.PairRole;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.config.VolumeConfig;
import io.avance.core.node.AvanceNode;
import io.avance.testkit.tools.ExternalTool;
import io.avance.testkit.tools.InProcessPair;
import io.avance.core.replication.ReplicatedVolume;
import java.io.IOException;
import java.net.InetSocketAddress;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real NBD clients from Debian's packages (qemu-utils, libnbd-bin, fio) against the primary of a
 * real pair on loopback; every write they make is replicated, and the tests check the backup's
 * copy too.
 */
class NbdClientsTest {

    private static final long MIB = 1 << 20;
    private static final List<VolumeSpec> VOLUMES = List.of(VolumeSpec.of("convert", 32 * MIB),
            VolumeSpec.of("io", 16 * MIB), VolumeSpec.of("copy", 32 * MIB), VolumeSpec.of("fio", 64 * MIB));

    @TempDir
    static Path directory;

    private static InProcessPair pair;
    private static AvanceNode primary;
    private static AvanceNode backup;

    @BeforeAll
    static void startPair() throws Exception {
        pair = InProcessPair.in(directory).configure((id, config) -> {
            config.nbdListen(new InetSocketAddress("127.0.0.1", 0));
            for (VolumeSpec spec : VOLUMES) {
                config.volume(new VolumeConfig(spec, Optional.empty()));
            }
        }).start(AvanceNode::builder);
        AvanceNode a = pair.a();
        AvanceNode b = pair.b();
        pair.events().await(() -> a.role() == PairRole.PRIMARY && b.role() == PairRole.BACKUP && synced(a)
                && synced(b), Duration.ofSeconds(30), () -> "the pair never formed: a " + a.role() + " "
                + a.volumes().volumes() + ", b " + b.role() + " " + b.volumes().volumes());
        primary = a;
        backup = b;
    }

    @AfterAll
    static void stopPair() {
        if (pair != null) {
            pair.close();
        }
    }

    private static boolean synced(AvanceNode node) {
        return node.volumeManager().all().size() == VOLUMES.size() && node.volumeManager().all().stream()
                .allMatch(v -> v.state() == ReplicationState.SYNCED);
    }

    private static String uri(AvanceNode node, String export) {
        return "nbd://127.0.0.1:" + node.nbdAddress().orElseThrow().getPort() + "/" + export;
    }

    @Test
    void qemuImgConvertsARandomImageIntoTheExportAndComparesItBack() throws Exception {
        Path image = randomFile("convert-source.img", 32 * MIB, 1);
        ExternalTool.ok(120, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", image.toString(),
                uri(primary, "convert"));
        ExternalTool.ok(120, "qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(),
                uri(primary, "convert"));
        assertEquals(sha256(image), sha256(volumeFile(backup, "convert")), "the backup's copy differs");
        String info = ExternalTool.ok(60, "qemu-img", "info", uri(primary, "convert"));
        assertTrue(info.contains("33554432"), info);
    }

    @Test
    void qemuIoPatternWritesFlushesAndReadsBack() throws Exception {
        String output = ExternalTool.ok(120, "qemu-io", "-f", "raw", uri(primary, "io"),
                "-c", "write -P 0xab 0 1M",
                "-c", "write -P 0x5c -f 1M 512k",
                "-c", "flush",
                "-c", "read -P 0xab 0 1M",
                "-c", "read -P 0x5c 1M 512k",
                "-c", "write -z 64k 64k",
                "-c", "read -P 0 64k 64k",
                "-c", "discard 4M 1M",
                "-c", "read -P 0 4M 1M",
                "-c", "aio_write -P 0x11 8M 64k",
                "-c", "aio_write -P 0x22 8M 4k",
                "-c", "aio_flush",
                "-c", "read -P 0x22 8M 4k",
                "-c", "read -P 0x11 8196k 60k");
        assertFalse(output.contains("Pattern verification failed"), output);
        assertFalse(output.toLowerCase(java.util.Locale.ROOT).contains("error"), output);
        assertEquals(sha256(volumeFile(primary, "io")), sha256(volumeFile(backup, "io")));
    }

    @Test
    void nbdinfoSeesEveryAdvertisedCapability() throws Exception {
        String uri = uri(primary, "io");
        for (String capability : List.of("connect", "read", "write", "flush", "fua", "trim", "zero", "multi-conn",
                "df", "structured-reply")) {
            ExternalTool.Result result = ExternalTool.run(60, "nbdinfo", "--can", capability, uri);
            assertEquals(0, result.exit(), "nbdinfo --can " + capability + ": " + result.output());
        }
        for (String absent : List.of("cache", "fast-zero")) {
            assertEquals(2, ExternalTool.run(60, "nbdinfo", "--can", absent, uri).exit(), absent);
        }
        assertEquals(2, ExternalTool.run(60, "nbdinfo", "--is", "read-only", uri).exit());
        String list = ExternalTool.ok(60, "nbdinfo", "--list", uri);
        for (VolumeSpec spec : VOLUMES) {
            assertTrue(list.contains(spec.name()), list);
        }
        String map = ExternalTool.ok(60, "nbdinfo", "--map", uri);
        assertTrue(map.contains("data") || map.contains("allocated"), map);
    }

    @Test
    void nbdcopyRoundTripsAreByteIdentical() throws Exception {
        Path source = randomFile("copy-source.img", 32 * MIB, 2);
        ExternalTool.ok(120, "nbdcopy", source.toString(), uri(primary, "copy"));
        Path back = directory.resolve("copy-back.img");
        ExternalTool.ok(120, "nbdcopy", uri(primary, "copy"), back.toString());
        ExternalTool.ok(60, "cmp", source.toString(), back.toString());
        assertEquals(sha256(source), sha256(volumeFile(backup, "copy")));
    }

    @Test
    void fioThroughTheNbdEngineVerifiesEveryBlockItWrote() throws Exception {
        String output = ExternalTool.ok(300, "fio", "--name=verify", "--ioengine=nbd", "--uri=" + uri(primary, "fio"),
                "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=64m", "--io_size=16m", "--verify=crc32c",
                "--verify_fatal=1", "--do_verify=1", "--randrepeat=0", "--norandommap=0", "--verify_state_save=0");
        assertFalse(output.contains("verify:") && output.contains("bad"), output);
        assertTrue(output.contains("err= 0"), output);
        // Two connections at once, each in its own half, with block sizes from 4 KiB to 256 KiB.
        ExternalTool.ok(300, "fio", "--name=mixed", "--ioengine=nbd", "--uri=" + uri(primary, "fio"),
                "--rw=randwrite", "--bsrange=4k-256k", "--iodepth=16", "--numjobs=2", "--size=32m",
                "--offset_increment=32m", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1",
                "--verify_state_save=0");
        ReplicatedVolume onPrimary = primary.volumeManager().volume("fio").orElseThrow();
        onPrimary.flushAll().get();
        assertEquals(sha256(volumeFile(primary, "fio")), sha256(volumeFile(backup, "fio")));
    }

    @Test
    void theBackupRefusesClientsWithAMessageNamingThePrimary() throws Exception {
        ExternalTool.Result result = ExternalTool.run(60, "nbdinfo", uri(backup, "io"));
        assertNotEquals(0, result.exit(), result.output());
        // qemu shows the server's message; libnbd only the error code.
        ExternalTool.Result qemu = ExternalTool.run(60, "qemu-img", "info", uri(backup, "io"));
        assertNotEquals(0, qemu.exit(), qemu.output());
        assertTrue(qemu.output().contains("connect to the primary, node a"), qemu.output());
        ExternalTool.Result unknown = ExternalTool.run(60, "qemu-img", "info", uri(primary, "nosuch"));
        assertNotEquals(0, unknown.exit());
        assertTrue(unknown.output().contains("no export named"), unknown.output());
    }

    // ------------------------------------------------------------------------------------------

    private static Path volumeFile(AvanceNode node, String name) {
        return node.config().volumeDirectory().resolve(name + ".img");
    }

    private static Path randomFile(String name, long size, long seed) throws IOException {
        Path file = directory.resolve(name);
        Random random = new Random(seed);
        byte[] chunk = new byte[(int) MIB];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < size; written += chunk.length) {
                random.nextBytes(chunk);
                // Some runs of zeros, so that sparse-aware clients take their other path too.
                if (random.nextInt(4) == 0) {
                    java.util.Arrays.fill(chunk, (byte) 0);
                }
                channel.write(ByteBuffer.wrap(chunk));
            }
        }
        return file;
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
