package io.avance.examples.cli;

import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfigFile;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance init}: writes a node's configuration and a new pairing secret with sensible
 * defaults, asking at most one question (this node's address, with the detected one as default).
 *
 * <pre>
 * first node:   avance init --peer-address 10.0.0.2
 * second node:  avance init --id beta --peer-id alpha --peer-address 10.0.0.1 --secret pairing.secret
 * </pre>
 */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Write a node's configuration (avance.properties) and a new pairing secret, with defaults",
                "for everything; asks only for this node's address (Enter keeps the detected one)."})
final class InitCommand implements Callable<Integer> {

    private static final int PRIVATE_PORT = 7400;
    private static final int PUBLIC_PORT = 7401;

    @Option(names = "--dir", defaultValue = ".", description = "where to write the files (default: here)")
    private Path directory;

    @Option(names = "--id", defaultValue = "alpha", description = "this node's id (default: alpha)")
    private String id;

    @Option(names = "--peer-id", description = "the peer's id (default: beta, or alpha if this node is beta)")
    private String peerId;

    @Option(names = "--peer-address", description = "the peer's address; without it the node runs standalone")
    private String peerAddress;

    @Option(names = "--address", description = "this node's address (asked, with the detected one as default)")
    private String address;

    @Option(names = "--secret", description = "the pairing secret the peer's init wrote (default: a new one)")
    private Path secret;

    @Option(names = "--force", description = "overwrite existing files")
    private boolean force;

    @Override
    public Integer call() throws IOException {
        Path config = directory.resolve("avance.properties");
        Path secretFile = directory.resolve("pairing.secret");
        if (!force && (Files.exists(config) || (secret == null && Files.exists(secretFile)))) {
            System.err.println("avance init: " + (Files.exists(config) ? config : secretFile)
                    + " exists; use --force to overwrite it");
            return 2;
        }
        String self = address != null ? address : ask(detectAddress());
        String peer = peerId != null ? peerId : id.equals("beta") ? "alpha" : "beta";
        Files.createDirectories(directory);
        if (secret == null) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            writePrivate(secretFile, "hex:" + HexFormat.of().formatHex(key) + "\n");
        } else if (!secret.toAbsolutePath().normalize().equals(secretFile.toAbsolutePath().normalize())) {
            writePrivate(secretFile, Files.readString(secret, StandardCharsets.UTF_8));
        }
        boolean paired = peerAddress != null;
        String text = String.join("\n",
                "# Avance node " + id + ", written by avance init. Every key is explained in docs/operations.md.",
                "node.id = " + id,
                "node.data-dir = " + id + "-data",
                "pairing.secret-file = pairing.secret",
                "private.listen = " + self + ":" + PRIVATE_PORT,
                (paired ? "" : "# ") + "peer.id = " + peer,
                (paired ? "" : "# ") + "peer.private-address = " + (paired ? peerAddress : "PEER-ADDRESS") + ":"
                        + PRIVATE_PORT,
                "# Heartbeats also travel over the public network, so a dead private link is told apart from a dead peer.",
                (paired ? "" : "# ") + "public.lan.bind = " + self + ":" + PUBLIC_PORT,
                (paired ? "" : "# ") + "public.lan.peer = " + (paired ? peerAddress : "PEER-ADDRESS") + ":" + PUBLIC_PORT,
                "# The replicated disks, served to the hypervisor (and any NBD client) by the primary.",
                "nbd.listen = 127.0.0.1:10809",
                "volume.vm1-disk.size = 1GiB",
                "# VMs: 'simulated' runs them in the node's process (a demo guest); 'xen' on a Xen 4.17 dom0.",
                "hypervisor = simulated",
                "vm.vm1.memory = 256MiB",
                "vm.vm1.disks = vm1-disk",
                "vm.vm1.option.sim.program = kv",
                "vm.vm1.option.sim.port = 9000",
                "");
        writePrivate(config, text);
        try {
            NodeConfigFile.read(config);
        } catch (ConfigException e) {
            System.err.println("avance init: the written configuration is invalid (" + e.getMessage() + "); check "
                    + "the values you gave");
            return 2;
        }
        System.out.println("Wrote " + config + " and " + secretFile + ".");
        if (paired && secret == null) {
            System.out.println("On the peer, with a copy of " + secretFile + ":");
            System.out.println("  avance init --id " + peer + " --peer-id " + id + " --peer-address " + self
                    + " --secret pairing.secret");
        } else if (!paired) {
            System.out.println("No --peer-address: this node runs standalone, tracking every write for the peer that "
                    + "joins later (set peer.* and public.lan.* then).");
        }
        System.out.println("Then start the node:  avance node --config " + config);
        return 0;
    }

    /** The one question: this node's address, with a default; no console means the default. */
    private static String ask(String detected) {
        java.io.Console console = System.console();
        if (console == null) {
            return detected;
        }
        String answer = console.readLine("This node's address (private link and public network) [%s]: ", detected);
        return answer == null || answer.isBlank() ? detected : answer.trim();
    }

    private static String detectAddress() {
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback() || nic.isVirtual()) {
                    continue;
                }
                Optional<InetAddress> v4 = Collections.list(nic.getInetAddresses()).stream()
                        .filter(a -> a instanceof Inet4Address && !a.isLinkLocalAddress()).findFirst();
                if (v4.isPresent()) {
                    return v4.get().getHostAddress();
                }
            }
        } catch (SocketException e) {
            // Fall back to loopback.
        }
        return "127.0.0.1";
    }

    private static void writePrivate(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the file keeps its default permissions.
        }
    }
}
