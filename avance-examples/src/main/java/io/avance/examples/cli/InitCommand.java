package io.avance.examples.cli;

import io.avance.core.config.ConfigException;
import io.avance.core.config.NodeConfigFile;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance init}: writes a node's configuration and a new pairing secret, asking for what it
 * cannot know: this node's address on the private link, and its address on each public network,
 * separately, since heartbeats on separate networks are what tell a dead link from a dead peer.
 *
 * <pre>
 * first node:   avance init --private-address 10.0.0.1 --peer-private-address 10.0.0.2 \
 *                           --public lan=192.168.1.11,192.168.1.12
 * second node:  avance init --id beta --peer-id alpha --private-address 10.0.0.2 \
 *                           --peer-private-address 10.0.0.1 --public lan=192.168.1.12,192.168.1.11 \
 *                           --secret pairing.secret
 * </pre>
 *
 * <p>What is not given on the command line is asked at the console (Enter keeps the value shown);
 * without a console, a missing address is an error that names its option. Every address is
 * checked: this node's own must be an address of this host (it can listen there), the peer's
 * must differ from this node's, and the private link must not share an address with a public
 * network.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Write a node's configuration (avance.properties) and a new pairing secret. Asks for this "
                + "node's address on the private link and on each public network, and the peer's, unless "
                + "given.")
final class InitCommand implements Callable<Integer> {

    static final int PRIVATE_PORT = 7400;
    static final int PUBLIC_PORT = 7401;
    /** A public network's name: it also names the network's bridge on a Xen host (at most 15 characters). */
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,14}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    @Option(names = "--dir", defaultValue = ".", description = "where to write the files (default: here)")
    private Path directory;

    @Option(names = "--id", defaultValue = "alpha", description = "this node's id (default: alpha)")
    private String id;

    @Option(names = "--peer-id", description = "the peer's id (default: beta, or alpha if this node is beta)")
    private String peerId;

    @Option(names = "--private-address", description = "this node's address on the private link (asked)")
    private String privateAddress;

    @Option(names = "--peer-private-address", description = "the peer's address on the private link (asked); "
            + "'none' for a standalone node that a peer joins later")
    private String peerPrivateAddress;

    @Option(names = "--public", description = "a public network: NAME=THIS-ADDRESS,PEER-ADDRESS (repeatable; asked "
            + "if none)")
    private List<String> publics;

    @Option(names = "--data-dir", description = "the node's data directory (default: ID-data beside the file)")
    private String dataDirectory;

    @Option(names = "--hypervisor", defaultValue = "simulated",
            description = "xen on a Xen 4.17 dom0, simulated for a demo guest in the node's process (default)")
    private String hypervisor;

    @Option(names = "--secret", description = "the pairing secret the peer's init wrote (default: a new one)")
    private Path secret;

    @Option(names = "--force", description = "overwrite existing files")
    private boolean force;

    /** A bad answer or option: one line, naming it. */
    static final class InitException extends Exception {
        private static final long serialVersionUID = 1L;

        InitException(String message) {
            super(message);
        }
    }

    private record Network(String name, String self, String peer) {
    }

    @Override
    public Integer call() throws IOException {
        Path config = directory.resolve("avance.properties");
        Path secretFile = directory.resolve("pairing.secret");
        if (!force && (Files.exists(config) || (secret == null && Files.exists(secretFile)))) {
            System.err.println("avance init: " + (Files.exists(config) ? config : secretFile)
                    + " exists; use --force to overwrite it");
            return 2;
        }
        String text;
        boolean paired;
        String self;
        try {
            if (!ID.matcher(id).matches()) {
                throw new InitException("--id '" + id + "': a node id is 1-64 of A-Z a-z 0-9 . _ -");
            }
            if (!hypervisor.equals("xen") && !hypervisor.equals("simulated")) {
                throw new InitException("--hypervisor '" + hypervisor + "': xen or simulated");
            }
            String peer = peerId != null ? peerId : id.equals("beta") ? "alpha" : "beta";
            if (!ID.matcher(peer).matches()) {
                throw new InitException("--peer-id '" + peer + "': a node id is 1-64 of A-Z a-z 0-9 . _ -");
            }
            if (peer.equals(id)) {
                throw new InitException("--peer-id '" + peer + "' is this node's own id");
            }
            self = ownAddress("--private-address", privateAddress, "This node's address on the private link",
                    detectAddress());
            String peerPrivate = answer("--peer-private-address", peerPrivateAddress,
                    "The peer's address on the private link ('none' to run standalone for now)", null);
            paired = !peerPrivate.equalsIgnoreCase("none");
            if (paired) {
                checkPeer("--peer-private-address", peerPrivate, self);
            }
            List<Network> networks = paired ? networks(self) : List.of();
            text = configuration(peer, self, paired ? peerPrivate : null, networks);
        } catch (InitException e) {
            System.err.println("avance init: " + e.getMessage());
            return 2;
        }
        Files.createDirectories(directory);
        if (secret == null) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            writePrivate(secretFile, "hex:" + HexFormat.of().formatHex(key) + "\n");
        } else if (!secret.toAbsolutePath().normalize().equals(secretFile.toAbsolutePath().normalize())) {
            writePrivate(secretFile, Files.readString(secret, StandardCharsets.UTF_8));
        }
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
            System.out.println("On the peer, with a copy of " + secretFile + ", run avance init with --id "
                    + (peerId != null ? peerId : id.equals("beta") ? "alpha" : "beta") + " --peer-id " + id
                    + ", its own addresses, this node's as the peer's, and --secret pairing.secret.");
        } else if (!paired) {
            System.out.println("Standalone: this node tracks every write for the peer that joins later (set peer.*"
                    + " and public.* then, or run avance init again).");
        }
        System.out.println("Then start the node:  avance node --config " + config);
        return 0;
    }

    private List<Network> networks(String privateSelf) throws InitException {
        List<String> specs = new ArrayList<>();
        if (publics != null && !publics.isEmpty()) {
            specs.addAll(publics);
        } else {
            String name = answer("--public", null, "The public network's name", "lan");
            String self = answer("--public", null, "This node's address on public network " + name, null);
            String peer = answer("--public", null, "The peer's address on public network " + name, null);
            specs.add(name + "=" + self + "," + peer);
        }
        Map<String, Network> byName = new LinkedHashMap<>();
        for (String spec : specs) {
            int equals = spec.indexOf('=');
            int comma = spec.indexOf(',', Math.max(equals, 0));
            if (equals <= 0 || comma < 0) {
                throw new InitException("--public '" + spec + "': NAME=THIS-ADDRESS,PEER-ADDRESS, such as "
                        + "lan=192.168.1.11,192.168.1.12");
            }
            String name = spec.substring(0, equals).trim();
            if (!NAME.matcher(name).matches()) {
                throw new InitException("--public '" + spec + "': a network name is 1-15 lower-case letters, digits "
                        + "or '-', starting with a letter (it also names the bridge on a Xen host)");
            }
            String self = ownAddress("--public " + name, spec.substring(equals + 1, comma).trim(), null, null);
            String peer = spec.substring(comma + 1).trim();
            checkPeer("--public " + name, peer, self);
            if (sameHost(self, privateSelf)) {
                throw new InitException("--public " + name + ": " + self + " is also this node's private-link"
                        + " address; each path needs its own network and address, or a dead link cannot be told from"
                        + " a dead peer");
            }
            for (Network other : byName.values()) {
                if (sameHost(self, other.self())) {
                    throw new InitException("--public " + name + ": " + self + " is also this node's address on "
                            + other.name() + "; each public network needs its own address");
                }
            }
            if (byName.put(name, new Network(name, self, peer)) != null) {
                throw new InitException("--public " + name + " is given twice");
            }
        }
        return List.copyOf(byName.values());
    }

    private String configuration(String peer, String self, String peerPrivate, List<Network> networks) {
        List<String> lines = new ArrayList<>(List.of(
                "# Avance node " + id + ", written by avance init. Every key is explained in docs/operations.md.",
                "node.id = " + id,
                "node.data-dir = " + (dataDirectory != null ? dataDirectory : id + "-data"),
                "pairing.secret-file = pairing.secret",
                "# The private link: a dedicated network between the two nodes (replication, migration, heartbeats).",
                "private.listen = " + self + ":" + PRIVATE_PORT));
        if (peerPrivate != null) {
            lines.add("peer.id = " + peer);
            lines.add("peer.private-address = " + peerPrivate + ":" + PRIVATE_PORT);
            lines.add("# Heartbeats also travel over every public network, so that a dead private link is told apart");
            lines.add("# from a dead peer.");
            for (Network network : networks) {
                lines.add("public." + network.name() + ".bind = " + network.self() + ":" + PUBLIC_PORT);
                lines.add("public." + network.name() + ".peer = " + network.peer() + ":" + PUBLIC_PORT);
            }
        } else {
            lines.add("# peer.id = " + peer);
            lines.add("# peer.private-address = PEER-ADDRESS:" + PRIVATE_PORT);
            lines.add("# public.lan.bind = THIS-ADDRESS-ON-LAN:" + PUBLIC_PORT);
            lines.add("# public.lan.peer = PEER-ADDRESS-ON-LAN:" + PUBLIC_PORT);
        }
        lines.add("# The replicated disks, served to the hypervisor (and any NBD client) by the primary, on this host.");
        lines.add("nbd.listen = 127.0.0.1:10809");
        lines.add("# VMs: 'xen' on a Xen 4.17 dom0; 'simulated' runs a demo guest in the node's process.");
        lines.add("hypervisor = " + hypervisor);
        if (hypervisor.equals("simulated")) {
            lines.add("volume.vm1-disk.size = 1GiB");
            lines.add("vm.vm1.memory = 256MiB");
            lines.add("vm.vm1.disks = vm1-disk");
            lines.add("vm.vm1.option.sim.program = kv");
            lines.add("vm.vm1.option.sim.port = 9000");
        } else {
            lines.add("# Define VMs with: avance vm create NAME --memory 1GiB --cores 1 --disk 8GiB --image FILE");
        }
        lines.add("");
        return String.join("\n", lines);
    }

    /** An address of this host: given, or asked (with a default, if any). */
    private static String ownAddress(String option, String given, String question, String detected)
            throws InitException {
        String text = answer(option, given, question, detected);
        InetAddress address = parse(option, text);
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(address, 0))) {
            return address.getHostAddress();
        } catch (SocketException e) {
            throw new InitException(option + " " + text + " is not an address of this host (" + e.getMessage() + ")");
        }
    }

    private static void checkPeer(String option, String peer, String self) throws InitException {
        InetAddress address = parse(option, peer);
        if (sameHost(address.getHostAddress(), self)) {
            throw new InitException(option + ": the peer's address " + peer + " is this node's own");
        }
    }

    private static boolean sameHost(String first, String second) {
        return first.equals(second);
    }

    private static InetAddress parse(String option, String text) throws InitException {
        if (text == null || text.isBlank()) {
            throw new InitException(option + ": an address is needed");
        }
        if (!text.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            throw new InitException(option + " '" + text + "' is not an IP address (give the address, not a name)");
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new InitException(option + " '" + text + "' is not an IP address");
        }
    }

    /** A value: the option's, or the console's answer (Enter keeps the default); no console, no default: an error. */
    private static String answer(String option, String given, String question, String fallback) throws InitException {
        if (given != null) {
            return given.trim();
        }
        java.io.Console console = question == null ? null : System.console();
        if (console == null) {
            if (fallback != null && question != null) {
                return fallback;
            }
            throw new InitException(option + " is needed (no console to ask on)");
        }
        String prompt = fallback != null ? question + " [" + fallback + "]: " : question + ": ";
        String line = console.readLine("%s", prompt);
        if (line == null || line.isBlank()) {
            if (fallback == null) {
                throw new InitException(option + ": no answer");
            }
            return fallback;
        }
        return line.trim();
    }

    private static String detectAddress() {
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback() || nic.isVirtual()) {
                    continue;
                }
                for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                    if (address instanceof Inet4Address && !address.isLinkLocalAddress()) {
                        return address.getHostAddress();
                    }
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
