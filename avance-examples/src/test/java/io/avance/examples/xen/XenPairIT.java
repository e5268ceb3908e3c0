package io.avance.examples.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.avance.testkit.tools.LoopbackAddresses;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Xen pair stage (Maven profile {@code xen-pair}): two Xen 4.17 hosts, each a QEMU machine
 * under software emulation whose dom0 installs the project's Debian package and runs the node
 * (.ci/xen/pair-host.sh), joined by a private network and a public one, with a third machine on
 * the public network as the client. Checked step by step, with timings printed:
 * <ol>
 *   <li>the pair forms; {@code avance vm create} on the primary makes a VM whose disk image
 *       (built from Debian's packages) is written into its replicated disk, and the guest boots
 *       from that disk through pvgrub2; its service stores each record the client sends on the
 *       disk (O_DIRECT, O_DSYNC) before acknowledging it;</li>
 *   <li>a planned switchover live-migrates the guest to the other host, the client's TCP
 *       connection surviving (total time, the gap the client saw);</li>
 *   <li>power cut: the new primary's QEMU is killed with SIGKILL; the other host takes over and
 *       boots the guest from its replica; every acknowledged record is there (kill to served
 *       again);</li>
 *   <li>the cut host boots again, rejoins as backup and resynchronises only the changed blocks
 *       (bytes against the volume's size), and a switchover moves the guest back;</li>
 *   <li>the guest's kernel crashes; it is restarted on the same host (rule 3).</li>
 * </ol>
 * Networks run over QEMU's datagram sockets on this machine's loopback (a hub in this test joins
 * the public one): no root, nothing leaves the machine. A failure keeps every serial log in
 * {@code target/xen-pair} and names it.
 */
class XenPairIT {

    private static final Pattern ACK = Pattern.compile("^ACK (\\d+) (\\d+)$");
    private static final Pattern EVENT = Pattern.compile("avance-event at=\\d+ type=(\\w+)(.*)$");
    private static final Pattern FIELD = Pattern.compile("(\\w+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");
    private static final long VOLUME_BYTES = 96L << 20;

    private final List<Machine> machines = new CopyOnWriteArrayList<>();
    private final List<String> figures = new CopyOnWriteArrayList<>();
    private Hub hub;
    private Path work;

    private static Path property(String name) {
        String value = System.getProperty(name);
        if (value == null) {
            fail("system property " + name + " is not set: run through the xen-pair Maven profile");
        }
        return Paths.get(value);
    }

    @AfterEach
    void stop() {
        for (Machine machine : machines) {
            machine.kill();
        }
        if (hub != null) {
            hub.close();
        }
        if (work != null) {
            // The nodes' logs and audit journals, from each host's data disk (ext4, read with debugfs).
            for (String host : List.of("alpha", "beta")) {
                Path disk = work.resolve(host + "-data.img");
                if (Files.exists(disk)) {
                    for (String[] file : List.of(new String[] {"/node.log", host + "-node.log"},
                            new String[] {"/node/audit.log", host + "-audit.log"})) {
                        try {
                            run(List.of("debugfs", "-R", "dump " + file[0] + " " + work.resolve(file[1]), disk.toString()),
                                    work.resolve("debugfs.log"), 60);
                        } catch (Exception | AssertionError e) {
                            System.out.println("XEN-PAIR could not copy " + file[0] + " from " + disk + ": " + e.getMessage());
                        }
                    }
                }
            }
        }
        System.out.println("XEN-PAIR figures:");
        figures.forEach(line -> System.out.println("XEN-PAIR " + line));
        if (work != null) {
            System.out.println("XEN-PAIR serial logs, the nodes' logs and audit journals (NAME-node.log,"
                    + " NAME-audit.log) and the images in " + work.toAbsolutePath());
        }
    }

    @Test
    void twoXenHostsServeAGuestThroughMigrationPowerCutResyncAndCrash() throws Exception {
        long stageStart = System.nanoTime();
        Path ci = property("avance.xen.ciDir");
        work = property("avance.xen.pairWork");
        Path cache = property("avance.xen.cache");
        Path deb;
        try (Stream<Path> files = Files.list(Paths.get("target"))) {
            deb = files.filter(f -> f.getFileName().toString().matches("avance_.+_all\\.deb")).findFirst()
                    .orElseThrow(() -> new AssertionError("no avance_VERSION_all.deb in target: run mvn package"));
        }
        deleteTree(work);
        Files.createDirectories(work);
        Path parts = work.resolve("parts");
        run(List.of("bash", ci.resolve("build-pair-payload.sh").toString(), cache.toString(), deb.toString(),
                parts.toString()), work.resolve("build-pair-payload.log"), 900);
        Path image = work.resolve("image");
        run(List.of("bash", ci.resolve("build-image.sh").toString(), cache.toString(),
                parts.resolve("payload").toString(), image.toString()), work.resolve("build-image.log"), 900);
        for (String host : List.of("alpha", "beta")) {
            Path disk = work.resolve(host + "-data.img");
            run(List.of("truncate", "-s", "2G", disk.toString()), work.resolve("disks.log"), 60);
            run(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-L", host, disk.toString()), work.resolve("disks.log"), 120);
        }
        figure("images built in %.0f s", seconds(stageStart));

        // Loopback addresses of their own for each end of each network (see LoopbackAddresses).
        int port = 7800;
        InetSocketAddress hubAddress = LoopbackAddresses.next(port);
        Map<String, InetSocketAddress> publicEnds = Map.of("alpha", LoopbackAddresses.next(port),
                "beta", LoopbackAddresses.next(port), "client", LoopbackAddresses.next(port));
        Map<String, InetSocketAddress> privateEnds = Map.of("alpha", LoopbackAddresses.next(port),
                "beta", LoopbackAddresses.next(port));
        hub = new Hub(hubAddress, List.copyOf(publicEnds.values()));

        Machine alpha = host("alpha", 1, image, publicEnds, privateEnds, hubAddress);
        Machine beta = host("beta", 2, image, publicEnds, privateEnds, hubAddress);
        Machine client = new Machine("client", work, List.of("qemu-system-x86_64", "-m", "256", "-smp", "1",
                "-nographic", "-monitor", "none", "-no-reboot", "-kernel", parts.resolve("vmlinuz").toString(),
                "-initrd", parts.resolve("client.cpio.gz").toString(), "-append", "console=ttyS0 quiet rdinit=/init",
                "-netdev", dgram("pub", publicEnds.get("client"), hubAddress),
                "-device", "e1000,netdev=pub,mac=52:54:00:00:09:02"));
        machines.add(client);
        client.start();

        // 1. The pair forms; the VM is created from its image and boots from its replicated disk.
        long boot = System.nanoTime();
        alpha.await(line -> line.contains("ready for commands"), Duration.ofMinutes(10), "alpha's dom0 up");
        beta.await(line -> line.contains("ready for commands"), Duration.ofMinutes(10), "beta's dom0 up");
        figure("both dom0s up (package installed, configuration written by avance init) %.0f s after QEMU started",
                seconds(boot));
        Machine primary = awaitPair(alpha, beta, Duration.ofMinutes(10));
        Machine backup = primary == alpha ? beta : alpha;
        figure("pair formed %.0f s after QEMU started: %s PRIMARY, %s BACKUP", seconds(boot), primary.name,
                backup.name);
        long create = System.nanoTime();
        String created = primary.command("avance vm create web --memory 192MiB --cores 1 --disk 96MiB"
                + " --image /avance/guest.qcow2 --network lan --option xen.cpus=2 --config /etc/avance/avance.properties",
                Duration.ofMinutes(15));
        assertTrue(created.contains("web"), created);
        figure("avance vm create with a %d MiB disk from a qcow2 image: %.0f s", VOLUME_BYTES >> 20, seconds(create));
        client.await(line -> ACK.matcher(line).matches(), Duration.ofMinutes(10),
                "the client's first acknowledged record (the guest boots through pvgrub2 from its disk)");
        figure("guest serving the client %.0f s after avance vm create returned", seconds(create));
        awaitAcks(client, 20, Duration.ofMinutes(2));

        // 2. A planned switchover live-migrates the guest; the client's connection survives.
        long switchover = System.nanoTime();
        int primaryMark = primary.mark();
        int backupMark = backup.mark();
        int connectionsBefore = client.count(line -> line.startsWith("UP "));
        int acksBefore = client.count(line -> ACK.matcher(line).matches());
        String answer = primary.command("avance switchover --config /etc/avance/avance.properties",
                Duration.ofMinutes(2));
        assertTrue(answer.contains("started"), answer);
        Map<String, String> migration = primary.awaitEvent(primaryMark, "migration", f -> true,
                Duration.ofMinutes(10));
        assertEquals("COMPLETED", migration.get("outcome"), migration.toString());
        backup.awaitEvent(backupMark, "role", f -> "PRIMARY".equals(f.get("to")), Duration.ofMinutes(5));
        // Records kept coming during the pre-copy: wait for some from after the migration, so that
        // the gap of its pause (and any reconnection) is in what the client printed.
        awaitAcks(client, client.count(line -> ACK.matcher(line).matches()) + 20, Duration.ofMinutes(5));
        assertEquals(connectionsBefore, client.count(line -> line.startsWith("UP ")),
                "the client's TCP connection survived the migration:\n" + client.tail(40));
        figure("switchover by live migration %s -> %s: %.1f s from the request, the migration %s ms, paused %s us;"
                        + " longest gap the client saw %d ms", primary.name, backup.name, seconds(switchover),
                migration.get("totalMs"), migration.get("pauseUs"), longestAckGap(client, acksBefore));
        Machine serving = backup;
        Machine other = primary;

        // 3. Power cut of the serving host: the other takes over and boots the guest from its copy.
        awaitAcks(client, client.count(line -> ACK.matcher(line).matches()) + 20, Duration.ofMinutes(2));
        int acksAtCut = client.count(line -> ACK.matcher(line).matches());
        long lastAckBeforeCut = client.lastAckMillis();
        int otherMark = other.mark();
        int clientAtCut = client.mark();
        long cutAt = System.nanoTime();
        serving.kill();
        other.awaitEvent(otherMark, "role", f -> "PRIMARY".equals(f.get("to")), Duration.ofMinutes(5));
        figure("power cut of %s: %s PRIMARY %.1f s after SIGKILL", serving.name, other.name, seconds(cutAt));
        // Served again: an acknowledgement on a connection made after the cut (one in flight at
        // the SIGKILL does not count).
        int reconnectedAfterCut = client.awaitIndex(clientAtCut, line -> line.startsWith("UP "), Duration.ofMinutes(10),
                "the client's connection to the guest booted on " + other.name);
        client.awaitIndex(reconnectedAfterCut, line -> ACK.matcher(line).matches(), Duration.ofMinutes(5),
                "an acknowledgement from the guest booted on " + other.name);
        long servedAgain = System.nanoTime();
        Optional<Long> probe = client.firstTimeAfter(clientAtCut, "PROBE ");
        figure("power cut: the client served again %.1f s after SIGKILL (its own clock: %d ms from its last"
                        + " acknowledgement before the cut%s)", (servedAgain - cutAt) / 1e9,
                client.firstTimeAfter(reconnectedAfterCut, "ACK ").orElseThrow() - lastAckBeforeCut,
                probe.map(t -> "; a fresh connection was answered after " + (t - lastAckBeforeCut) + " ms, the rest"
                        + " is the old connection's TCP retransmission backoff").orElse(""));
        String verified = verifyEveryAcknowledgedRecord(client, "after the power cut");
        figure("after the power cut: %s", verified);

        // 4. The cut host boots again, rejoins as backup, resynchronises only what changed; switch back.
        awaitAcks(client, client.count(line -> ACK.matcher(line).matches()) + 50, Duration.ofMinutes(2));
        int acksAtReturn = client.count(line -> ACK.matcher(line).matches());
        Machine returning = host(serving.name, serving.name.equals("alpha") ? 1 : 2, image, publicEnds, privateEnds,
                hubAddress);
        long reboot = System.nanoTime();
        int beforeReturn = other.mark();
        returning.awaitEvent(0, "role", f -> "BACKUP".equals(f.get("to")), Duration.ofMinutes(10));
        Map<String, String> synced = other.awaitEvent(beforeReturn, "volume", f -> "web-disk".equals(f.get("volume"))
                && "SYNCED".equals(f.get("to")), Duration.ofMinutes(10));
        Map<String, String> resync = other.lastEvent(beforeReturn, "resync", f -> "web-disk".equals(f.get("volume")))
                .orElseThrow(() -> new AssertionError("no resync of web-disk when " + returning.name + " came back"));
        long resynced = Long.parseLong(resync.get("done"));
        int acksAtSync = client.count(line -> ACK.matcher(line).matches());
        figure("%s rebooted, rejoined as BACKUP and resynchronised in %.0f s: %d bytes of the %d-byte volume;"
                        + " the client wrote %d records (4 KiB blocks) before the host came back and %d by the end of the"
                        + " resync, the rest is the 4 MiB extents of the cut primary's activity log (%s)", returning.name,
                seconds(reboot), resynced, VOLUME_BYTES, acksAtReturn - acksAtCut, acksAtSync - acksAtCut, synced);
        assertEquals(resync.get("total"), resync.get("done"), "the resync's last report: " + resync);
        assertTrue(resynced > 0 && resynced < VOLUME_BYTES / 2, "the resync copied " + resynced
                + " bytes: not only the blocks that changed and the activity log's extents");
        long back = System.nanoTime();
        int otherBeforeBack = other.mark();
        int returningBeforeBack = returning.mark();
        int acksBeforeBack = client.count(line -> ACK.matcher(line).matches());
        int connectionsBeforeBack = client.count(line -> line.startsWith("UP "));
        assertTrue(other.command("avance switchover --config /etc/avance/avance.properties", Duration.ofMinutes(2))
                .contains("started"));
        Map<String, String> moveBack = other.awaitEvent(otherBeforeBack, "migration",
                f -> "COMPLETED".equals(f.get("outcome")), Duration.ofMinutes(10));
        returning.awaitEvent(returningBeforeBack, "role", f -> "PRIMARY".equals(f.get("to")), Duration.ofMinutes(5));
        awaitAcks(client, client.count(line -> ACK.matcher(line).matches()) + 20, Duration.ofMinutes(5));
        assertEquals(connectionsBeforeBack, client.count(line -> line.startsWith("UP ")),
                "the client's TCP connection survived the migration back:\n" + client.tail(40));
        figure("switchover back to %s: %.1f s, the migration %s ms, paused %s us; longest gap the client saw %d ms",
                returning.name, seconds(back), moveBack.get("totalMs"), moveBack.get("pauseUs"),
                longestAckGap(client, acksBeforeBack));

        // 5. The guest's kernel crashes: the VM is restarted where it runs (rule 3).
        long crash = System.nanoTime();
        int beforeCrash = returning.mark();
        int clientBeforeCrash = client.mark();
        client.send("crash");
        returning.awaitEvent(beforeCrash, "vm", f -> "web".equals(f.get("vm")) && "CRASHED".equals(f.get("to")),
                Duration.ofMinutes(5));
        returning.awaitEvent(beforeCrash, "vm", f -> "web".equals(f.get("vm")) && "RUNNING".equals(f.get("to")),
                Duration.ofMinutes(10));
        // Served again: an acknowledgement on a connection made after the crash (acknowledgements
        // still in flight when the crash was asked for do not count).
        int reconnected = client.awaitIndex(clientBeforeCrash, line -> line.startsWith("UP "), Duration.ofMinutes(10),
                "the client's connection to the restarted guest");
        client.awaitIndex(reconnected, line -> ACK.matcher(line).matches(), Duration.ofMinutes(5),
                "an acknowledgement from the restarted guest");
        long crashedAt = client.firstTimeAfter(clientBeforeCrash, "CRASHED ").orElseThrow();
        long ackAfter = client.firstTimeAfter(reconnected, "ACK ").orElseThrow();
        figure("guest kernel crash: restarted on %s and the client served again %.1f s after the crash was asked"
                + " for (its own clock: %d ms)", returning.name, seconds(crash), ackAfter - crashedAt);
        String last = verifyEveryAcknowledgedRecord(client, "at the end");
        figure("final check: %s; stage %.0f s", last, seconds(stageStart));
    }

    /**
     * Has the client read back every record it saw acknowledged, and checks the answer: all of
     * them, as written, and no record the service had acknowledged was ever missing after a
     * restart (the client says LOST when a restarted service holds fewer).
     */
    private static String verifyEveryAcknowledgedRecord(Machine client, String when) throws IOException {
        long highest = 0;
        for (String line : List.copyOf(client.lines)) {
            Matcher ack = ACK.matcher(line);
            if (ack.matches()) {
                highest = Math.max(highest, Long.parseLong(ack.group(1)));
            }
        }
        int mark = client.mark();
        client.send("verify");
        String verified = client.await(mark, line -> line.startsWith("VERIFY "), Duration.ofMinutes(10),
                "the client's read-back of every acknowledged record " + when);
        assertTrue(verified.endsWith(" ok"), "records lost " + when + ": " + verified);
        long checked = Long.parseLong(verified.split(" ")[1]);
        assertTrue(checked >= highest, "the read-back " + when + " covered records 1.." + checked + " but record "
                + highest + " was acknowledged");
        assertEquals(0, client.count(line -> line.startsWith("LOST")), "acknowledged records lost " + when + ":\n"
                + client.tail(40));
        return verified;
    }

    // ------------------------------------------------------------------------------------------

    private Machine host(String name, int n, Path image, Map<String, InetSocketAddress> publicEnds,
                         Map<String, InetSocketAddress> privateEnds, InetSocketAddress hubAddress) throws IOException {
        String peer = name.equals("alpha") ? "beta" : "alpha";
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64", "-cpu", "qemu64,+svm,+npt", "-m", "2304",
                "-smp", "3", "-nographic", "-monitor", "none", "-no-reboot",
                "-kernel", image.resolve("xen").toString(),
                // dom0 pinned to CPUs 0 and 1, the guest on CPU 2 (xen.cpus): a guest sharing a CPU
                // with a busy dom0 faults under QEMU's nested emulation (avance-xen-binding/README-xen.md).
                "-append", "console=com1 com1=115200,8n1 dom0_mem=1280M,max:1280M dom0_max_vcpus=2 dom0_vcpus_pin"
                        + " loglvl=warning"
                        + " guest_loglvl=warning noreboot",
                "-initrd", image.resolve("vmlinuz") + " console=hvc0 earlyprintk=xen rdinit=/init quiet loglevel=4"
                        + " avance.host=" + name + "," + image.resolve("dom0.img"),
                "-drive", "file=" + work.resolve(name + "-data.img") + ",format=raw,if=virtio,cache=writeback",
                "-netdev", dgram("priv", privateEnds.get(name), privateEnds.get(peer)),
                "-device", "e1000,netdev=priv,mac=52:54:00:00:0" + n + ":01",
                "-netdev", dgram("pub", publicEnds.get(name), hubAddress),
                "-device", "e1000,netdev=pub,mac=52:54:00:00:0" + n + ":02"));
        Machine machine = new Machine(name, work, command);
        machines.add(machine);
        machine.start();
        return machine;
    }

    private static String dgram(String id, InetSocketAddress local, InetSocketAddress remote) {
        return "dgram,id=" + id + ",local.type=inet,local.host=" + local.getAddress().getHostAddress() + ",local.port="
                + local.getPort() + ",remote.type=inet,remote.host=" + remote.getAddress().getHostAddress()
                + ",remote.port=" + remote.getPort();
    }

    private static Machine awaitPair(Machine alpha, Machine beta, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (alpha.role().equals("PRIMARY") && beta.role().equals("BACKUP")) {
                return alpha;
            }
            if (beta.role().equals("PRIMARY") && alpha.role().equals("BACKUP")) {
                return beta;
            }
            alpha.waitForOutput(200);
        }
        throw new AssertionError("the pair did not form: alpha " + alpha.role() + ", beta " + beta.role()
                + "\nalpha:\n" + alpha.tail(40) + "\nbeta:\n" + beta.tail(40));
    }

    private static void awaitAcks(Machine client, int count, Duration limit) {
        client.await(line -> client.count(l -> ACK.matcher(l).matches()) >= count, limit,
                count + " acknowledged records");
    }

    /** The longest gap between consecutive acknowledgements after the first {@code from}, on the client's clock. */
    private static long longestAckGap(Machine client, int from) {
        List<Long> times = client.ackTimes();
        long longest = 0;
        for (int i = Math.max(1, from); i < times.size(); i++) {
            longest = Math.max(longest, times.get(i) - times.get(i - 1));
        }
        return longest;
    }

    private void figure(String format, Object... arguments) {
        String line = String.format(format, arguments);
        figures.add(line);
        System.out.println("XEN-PAIR " + line);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static void run(List<String> command, Path log, int timeoutSeconds) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s; see " + log);
        }
        if (process.exitValue() != 0) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            fail(String.join(" ", command) + " failed (" + process.exitValue() + "); see " + log + ":\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    /**
     * One QEMU machine: its process, and its serial console through a UNIX socket (kept in a log
     * file too), read line by line.
     */
    private static final class Machine {
        final String name;
        private final Path work;
        private final List<String> command;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Object signal = new Object();
        private final Map<String, String> commandOutput = new ConcurrentHashMap<>();
        private Process process;
        private SocketChannel console;
        private volatile String role = "UNDECIDED";
        private int nextCommand;

        Machine(String name, Path work, List<String> command) {
            this.name = name;
            this.work = work;
            this.command = command;
        }

        void start() throws IOException {
            Path socket = work.resolve(name + ".sock");
            Files.deleteIfExists(socket);
            List<String> full = new ArrayList<>(command);
            full.addAll(List.of("-chardev", "socket,id=console,path=" + socket + ",server=on,wait=off,logfile="
                    + work.resolve(name + "-serial.log") + ",logappend=on", "-serial", "chardev:console"));
            process = new ProcessBuilder(full).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve(name + "-qemu.log").toFile())).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    console = SocketChannel.open(StandardProtocolFamily.UNIX);
                    console.connect(UnixDomainSocketAddress.of(socket));
                    break;
                } catch (IOException e) {
                    console.close();
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        throw new IOException(name + ": QEMU did not open its console socket; see "
                                + work.resolve(name + "-qemu.log"), e);
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        throw new IOException(interrupted);
                    }
                }
            }
            Thread reader = new Thread(this::read, "xen-pair-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            StringBuilder line = new StringBuilder();
            try (InputStream in = Channels.newInputStream(console)) {
                for (int c; (c = in.read()) >= 0; ) {
                    if (c == '\n') {
                        accept(line.toString().replace("\r", ""));
                        line.setLength(0);
                    } else if (line.length() < 8192) {
                        line.append((char) c);
                    }
                }
            } catch (IOException e) {
                // The machine was killed.
            }
            synchronized (signal) {
                signal.notifyAll();
            }
        }

        private void accept(String line) {
            lines.add(line);
            Matcher event = EVENT.matcher(line);
            if (event.find() && event.group(1).equals("role")) {
                String to = fields(event.group(2)).get("to");
                if (to != null) {
                    role = to;
                }
            }
            synchronized (signal) {
                signal.notifyAll();
            }
        }

        String role() {
            return role;
        }

        void waitForOutput(long millis) {
            synchronized (signal) {
                try {
                    signal.wait(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** @return how many lines have come so far: a mark to await what comes after it */
        int mark() {
            return lines.size();
        }

        /** Waits for a line that satisfies the condition, looking at every line so far first. */
        String await(Predicate<String> condition, Duration limit, String what) {
            return await(0, condition, limit, what);
        }

        /** Waits for a line after a mark that satisfies the condition; returns its index. */
        int awaitIndex(int from, Predicate<String> condition, Duration limit, String what) {
            String line = await(from, condition, limit, what);
            List<String> snapshot = List.copyOf(lines);
            for (int i = from; i < snapshot.size(); i++) {
                if (snapshot.get(i) == line) {
                    return i;
                }
            }
            throw new IllegalStateException(line);
        }

        /**
         * The client's clock on the first line after a mark that starts with a word ("ACK ",
         * "PROBE ", "CRASHED "...): the last number on that line.
         */
        Optional<Long> firstTimeAfter(int from, String word) {
            List<String> snapshot = List.copyOf(lines);
            for (int i = from; i < snapshot.size(); i++) {
                String line = snapshot.get(i);
                if (line.startsWith(word)) {
                    String[] parts = line.trim().split(" ");
                    return Optional.of(Long.parseLong(parts[parts.length - 1]));
                }
            }
            return Optional.empty();
        }

        /** Waits for a line after a mark that satisfies the condition. */
        String await(int from, Predicate<String> condition, Duration limit, String what) {
            long deadline = System.nanoTime() + limit.toNanos();
            int seen = from;
            while (true) {
                List<String> snapshot = List.copyOf(lines);
                for (int i = seen; i < snapshot.size(); i++) {
                    if (condition.test(snapshot.get(i))) {
                        return snapshot.get(i);
                    }
                }
                seen = snapshot.size();
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(name + ": no " + what + " within " + limit.toSeconds() + " s; serial log "
                            + work.resolve(name + "-serial.log") + ", last lines:\n" + tail(40));
                }
                waitForOutput(500);
            }
        }

        /** Waits for an event of the node after a mark. */
        Map<String, String> awaitEvent(int from, String type, Predicate<Map<String, String>> condition,
                                       Duration limit) {
            String line = await(from, candidate -> {
                Matcher event = EVENT.matcher(candidate);
                return event.find() && event.group(1).equals(type) && condition.test(fields(event.group(2)));
            }, limit, "'" + type + "' event");
            Matcher event = EVENT.matcher(line);
            event.find();
            return fields(event.group(2));
        }

        /** The last event of a type after a mark that satisfies the condition. */
        Optional<Map<String, String>> lastEvent(int from, String type, Predicate<Map<String, String>> condition) {
            Map<String, String> found = null;
            List<String> snapshot = List.copyOf(lines);
            for (String line : snapshot.subList(Math.min(from, snapshot.size()), snapshot.size())) {
                Matcher event = EVENT.matcher(line);
                if (event.find() && event.group(1).equals(type)) {
                    Map<String, String> fields = fields(event.group(2));
                    if (condition.test(fields)) {
                        found = fields;
                    }
                }
            }
            return Optional.ofNullable(found);
        }

        /** Runs a shell command in dom0 and returns its output; fails on a non-zero status. */
        String command(String shell, Duration limit) throws IOException {
            int id = ++nextCommand;
            int from = lines.size();
            send("CMD " + id + " " + shell);
            await(from, line -> line.startsWith("CMD-END " + id + " "), limit, "end of command " + id + " (" + shell
                    + ")");
            List<String> snapshot = List.copyOf(lines);
            StringBuilder output = new StringBuilder();
            boolean inside = false;
            String status = "?";
            for (int i = from; i < snapshot.size(); i++) {
                String line = snapshot.get(i);
                if (line.equals("CMD-BEGIN " + id)) {
                    inside = true;
                } else if (line.startsWith("CMD-END " + id + " ")) {
                    status = line.substring(("CMD-END " + id + " ").length()).trim();
                    break;
                } else if (inside && !line.startsWith("avance-event ")) {
                    output.append(line).append('\n');
                }
            }
            System.out.printf("XEN-PAIR %s $ %s -> %s%n%s", name, shell, status, output);
            assertEquals("0", status, name + ": '" + shell + "' failed:\n" + output);
            return output.toString();
        }

        void send(String line) throws IOException {
            ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            synchronized (this) {
                while (bytes.hasRemaining()) {
                    console.write(bytes);
                }
            }
        }

        int count(Predicate<String> condition) {
            int count = 0;
            for (String line : lines) {
                if (condition.test(line)) {
                    count++;
                }
            }
            return count;
        }

        List<Long> ackTimes() {
            List<Long> times = new ArrayList<>();
            for (String line : lines) {
                Matcher ack = ACK.matcher(line);
                if (ack.matches()) {
                    times.add(Long.parseLong(ack.group(2)));
                }
            }
            return times;
        }

        long lastAckMillis() {
            List<Long> times = ackTimes();
            return times.isEmpty() ? 0 : times.get(times.size() - 1);
        }

        String tail(int count) {
            List<String> snapshot = List.copyOf(lines);
            return String.join("\n", snapshot.subList(Math.max(0, snapshot.size() - count), snapshot.size()));
        }

        void kill() {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
                try {
                    process.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private static Map<String, String> fields(String text) {
            Map<String, String> fields = new java.util.LinkedHashMap<>();
            Matcher matcher = FIELD.matcher(text);
            while (matcher.find()) {
                String value = matcher.group(2);
                if (value.startsWith("\"")) {
                    value = value.substring(1, value.length() - 1).replace("\\n", "\n").replaceAll("\\\\(.)", "$1");
                }
                fields.put(matcher.group(1), value);
            }
            return fields;
        }
    }

    /**
     * The public network: every Ethernet frame one machine sends (a datagram from QEMU's
     * {@code -netdev dgram}) goes to every other machine on it, as on a hub.
     */
    private static final class Hub implements AutoCloseable {
        private final DatagramChannel channel;
        private final List<InetSocketAddress> members;
        private final Thread thread;

        Hub(InetSocketAddress address, List<InetSocketAddress> members) throws IOException {
            this.channel = DatagramChannel.open().bind(address);
            this.members = members;
            this.thread = new Thread(this::forward, "xen-pair-hub");
            this.thread.setDaemon(true);
            this.thread.start();
        }

        private void forward() {
            ByteBuffer frame = ByteBuffer.allocateDirect(65536);
            try {
                while (channel.isOpen()) {
                    frame.clear();
                    InetSocketAddress from = (InetSocketAddress) channel.receive(frame);
                    frame.flip();
                    for (InetSocketAddress member : members) {
                        if (!member.equals(from)) {
                            channel.send(frame.duplicate(), member);
                        }
                    }
                }
            } catch (IOException e) {
                // Closed.
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // Closed already.
            }
        }
    }
}
