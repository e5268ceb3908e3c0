package io.avance.testkit.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.avance.api.PairRole;
import io.avance.api.replication.DataState;
import io.avance.core.config.OperationsConfig;
import io.avance.core.failover.PolicyConfig;
import io.avance.core.pair.PairStatus;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.vip.LinuxVirtualAddressDriver;
import io.avance.testkit.tools.InProcessPair;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pair's virtual address in real network namespaces that the test makes itself: each node's
 * public interface is a veth in a namespace of its own, a client in a third namespace, all on
 * one bridge, on the documentation network 192.0.2.0/24. The nodes run in this process (private
 * link on loopback); their address driver runs {@code ip} and {@code arping} inside their
 * namespaces. The client keeps reaching 192.0.2.10 across a switchover and across a crash
 * takeover, and only the primary ever holds it. Skipped, with the reason, where namespaces
 * cannot be made (not root, no iproute2, arping or ping).
 */
class VirtualAddressNamespaceTest {

    private static final String VIP = "192.0.2.10";
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    private final String tag = Integer.toString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff), 16);
    private final Map<String, String> namespaces = new HashMap<>();
    private final List<String> made = new ArrayList<>();

    @BeforeEach
    void makeNetwork() throws Exception {
        for (String tool : List.of("ip", "arping", "ping")) {
            Assumptions.assumeTrue(run("sh", "-c", "command -v " + tool).exit == 0,
                    "the virtual-address test needs " + tool + " (apt-get install iproute2 arping iputils-ping)");
        }
        Result probe = run("ip", "netns", "add", "avt-probe-" + tag);
        Assumptions.assumeTrue(probe.exit == 0, "cannot make network namespaces here (needs root and CAP_SYS_ADMIN): "
                + probe.output);
        run("ip", "netns", "del", "avt-probe-" + tag);
        for (String role : List.of("sw", "a", "b", "c")) {
            String name = "avt-" + role + "-" + tag;
            must("ip", "netns", "add", name);
            made.add(name);
            namespaces.put(role, name);
            must("ip", "-n", name, "link", "set", "lo", "up");
        }
        String sw = namespaces.get("sw");
        must("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
        must("ip", "-n", sw, "link", "set", "br0", "up");
        Map<String, String> addresses = Map.of("a", "192.0.2.1/24", "b", "192.0.2.2/24", "c", "192.0.2.100/24");
        for (String role : List.of("a", "b", "c")) {
            String ns = namespaces.get(role);
            // Made in the switch's namespace, then one end moved into the node's.
            must("ip", "-n", sw, "link", "add", "s" + role, "type", "veth", "peer", "name", "eth-" + role);
            must("ip", "-n", sw, "link", "set", "eth-" + role, "netns", ns);
            must("ip", "-n", sw, "link", "set", "s" + role, "master", "br0");
            must("ip", "-n", sw, "link", "set", "s" + role, "up");
            must("ip", "-n", ns, "addr", "add", addresses.get(role), "dev", "eth-" + role);
            must("ip", "-n", ns, "link", "set", "eth-" + role, "up");
        }
        // The private network between the nodes, for rule 4's forwarding (the private link itself runs on loopback).
        must("ip", "-n", namespaces.get("a"), "link", "add", "priv-a", "type", "veth", "peer", "name", "priv-b",
                "netns", namespaces.get("b"));
        must("ip", "-n", namespaces.get("a"), "addr", "add", "198.51.100.1/30", "dev", "priv-a");
        must("ip", "-n", namespaces.get("b"), "addr", "add", "198.51.100.2/30", "dev", "priv-b");
        must("ip", "-n", namespaces.get("a"), "link", "set", "priv-a", "up");
        must("ip", "-n", namespaces.get("b"), "link", "set", "priv-b", "up");
        for (String role : List.of("a", "b")) {
            must("ip", "netns", "exec", namespaces.get(role), "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
        }
        // The client learns of address changes from gratuitous ARP, as a router or switch would.
        must("ip", "netns", "exec", namespaces.get("c"), "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_accept=1");
    }

    @AfterEach
    void removeNetwork() throws Exception {
        for (String name : made) {
            run("ip", "netns", "del", name);
        }
    }

    @Test
    void theClientReachesTheAddressAcrossASwitchoverAndACrashTakeover() throws Exception {
        List<Operations> services = new ArrayList<>();
        Map<String, Operations> byNode = new HashMap<>();
        try (InProcessPair pair = InProcessPair.in(directory).configure((id, config) -> config.operations(
                new OperationsConfig.Builder().virtualAddress(new OperationsConfig.VirtualAddress("lan", "eth-" + id,
                        VIP + "/24")).build())).start(AvanceNode::builder)) {
            AvanceNode first = pair.awaitPaired(LIMIT);
            for (AvanceNode node : List.of(pair.a(), pair.b())) {
                String id = node.id().value();
                Operations operations = Operations.builder(node).virtualAddresses(new LinuxVirtualAddressDriver(
                        List.of("ip", "netns", "exec", namespaces.get(id))), Duration.ofMillis(100)).start();
                services.add(operations);
                byNode.put(id, operations);
            }
            AvanceNode second = pair.other(first);
            String one = first.id().value();
            String two = second.id().value();
            awaitHeldOnlyBy(one);
            assertReachableAt(one);

            // Planned switchover: the new primary takes the address and announces it; the old drops it.
            // The primary accepts it once it has heard the peer as this epoch's up-to-date backup.
            pair.events().await(() -> first.status().flatMap(PairStatus::peer).map(peer -> peer.role() == PairRole.BACKUP
                    && peer.epoch() == first.status().get().epoch() && peer.data() == DataState.UP_TO_DATE).orElse(false),
                    LIMIT, () -> "the backup never caught up: " + first.status());
            assertEquals("started", first.switchover("virtual address test"));
            pair.events().await(() -> second.role() == PairRole.PRIMARY && first.role() == PairRole.BACKUP, LIMIT,
                    () -> "no switchover");
            awaitHeldOnlyBy(two);
            assertReachableAt(two);

            // Crash of the new primary: its machine is gone (interface down, nothing released).
            byNode.get(two).virtualAddresses().orElseThrow().stop(false);
            must("ip", "-n", namespaces.get(two), "link", "set", "eth-" + two, "down");
            pair.stop(two);
            pair.events().await(() -> first.role() == PairRole.PRIMARY && first.mayServe(), LIMIT,
                    () -> "no takeover: " + first.role());
            awaitHolds(one, true);
            assertReachableAt(one);
            pair.events().await(() -> first.journal().read(e -> e.action().equals("take virtual address"), 10).size() >= 2
                    && second.journal() != null, LIMIT, () -> "the moves are not journaled");
        } finally {
            services.forEach(Operations::close);
        }
    }

    @Test
    void whenThePrimaryLosesThePublicNetworkTheBackupForwardsItsAddressUntilTheFailover() throws Exception {
        List<Operations> services = new ArrayList<>();
        long second = TimeUnit.SECONDS.toNanos(1);
        PolicyConfig defaults = PolicyConfig.defaults();
        // The graceful failover waits 8 s after the pair formed: the forwarding is seen before it.
        PolicyConfig policy = new PolicyConfig(defaults.healthMargin(), 8 * second, defaults.rebootHoldOffNanos(),
                defaults.incidentWindowNanos(), defaults.backupMtbfThresholdNanos(), defaults.minIncidentsForMtbf(),
                defaults.vmRestartLimit(), defaults.vmRestartBackoffNanos(), defaults.vmRestartBackoffMaxNanos(),
                defaults.rebootableComponents());
        try (InProcessPair pair = InProcessPair.in(directory).configure((id, config) -> config.policy(policy)
                .operations(new OperationsConfig.Builder().virtualAddress(new OperationsConfig.VirtualAddress("lan",
                        "eth-" + id, VIP + "/24", java.util.Optional.of(id.equals("a") ? "198.51.100.2"
                        : "198.51.100.1"))).build())).start(AvanceNode::builder)) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            Map<String, Operations> byNode = new HashMap<>();
            for (AvanceNode node : List.of(pair.a(), pair.b())) {
                String id = node.id().value();
                Operations operations = Operations.builder(node).virtualAddresses(new LinuxVirtualAddressDriver(
                        List.of("ip", "netns", "exec", namespaces.get(id))), Duration.ofMillis(100)).start();
                services.add(operations);
                byNode.put(id, operations);
            }
            String one = primary.id().value();
            String two = backup.id().value();
            awaitHeldOnlyBy(one);
            assertReachableAt(one);

            // The primary's public network fails: its link goes down and it knows (a critical fault).
            must("ip", "-n", namespaces.get(one), "link", "set", "eth-" + one, "down");
            primary.faults().raise(io.avance.api.health.Fault.of(io.avance.api.health.Component.PUBLIC_NETWORK, "lan",
                    io.avance.api.health.Severity.CRITICAL, "link down"));
            pair.events().await(() -> byNode.get(two).virtualAddresses().orElseThrow().forwards("lan"), LIMIT,
                    () -> "the backup never forwarded the address");
            assertEquals(PairRole.PRIMARY, primary.role(), "the primary still serves while the backup forwards");
            assertFalse(holds(two), "the backup answers for the address without holding it");
            // The client's pings reach the primary through the backup: the backup does not hold the address,
            // so every answer comes from the primary, over the private network.
            assertReachableAt(two);

            // Then the graceful failover moves the role, and with it the address.
            pair.events().await(() -> backup.role() == PairRole.PRIMARY && primary.role() == PairRole.BACKUP, LIMIT,
                    () -> "no graceful failover: " + primary.role() + "/" + backup.role());
            awaitHolds(two, true);
            assertReachableAt(two);
            pair.events().await(() -> !byNode.get(two).virtualAddresses().orElseThrow().forwards("lan")
                    && backup.journal().read(e -> e.action().equals("virtual address released -> forwarding"), 1).size() == 1
                    && primary.journal().read(e -> e.action().equals("virtual address held -> returning"), 1).size() == 1,
                    LIMIT, () -> "forwarding not ended or not journaled");
        } finally {
            services.forEach(Operations::close);
        }
    }

    private void awaitHeldOnlyBy(String node) throws Exception {
        awaitHolds(node, true);
        awaitHolds(node.equals("a") ? "b" : "a", false);
    }

    private void awaitHolds(String node, boolean held) throws Exception {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (holds(node) != held) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("node " + node + (held ? " never took " : " never released ") + VIP);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    private boolean holds(String node) throws Exception {
        return run("ip", "-n", namespaces.get(node), "-4", "-o", "addr", "show", "dev", "eth-" + node).output
                .contains(VIP + "/24");
    }

    /** The client's pings to the address are answered, by the node that should hold it. */
    private void assertReachableAt(String node) throws Exception {
        String client = namespaces.get("c");
        String mac = mac(node);
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (true) {
            Result ping = run("ip", "netns", "exec", client, "ping", "-c", "1", "-W", "1", VIP);
            String neighbour = run("ip", "-n", client, "neigh", "show", VIP).output;
            if (ping.exit == 0 && neighbour.contains(mac)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("the client does not reach " + VIP + " at node " + node + " (" + mac + "): "
                        + ping.output + " / " + neighbour);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    private String mac(String node) throws Exception {
        String link = run("ip", "-n", namespaces.get(node), "-o", "link", "show", "eth-" + node).output;
        int at = link.indexOf("link/ether ");
        assertFalse(at < 0, link);
        return link.substring(at + 11, at + 28);
    }

    private record Result(int exit, String output) {
    }

    private static void must(String... command) throws Exception {
        Result result = run(command);
        if (result.exit != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + result.output);
        }
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", command));
        }
        return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8).trim());
    }
}
