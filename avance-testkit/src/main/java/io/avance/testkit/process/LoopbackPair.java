package io.avance.testkit.process;

import io.avance.testkit.tools.LoopbackAddresses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The configuration of a two-node pair on loopback: a loopback address of its own for each node
 * (see {@link LoopbackAddresses}: fixed ports there, the same across restarts, that nothing else
 * can take), a fresh pairing secret, and a configuration file for each node
 * ({@code alpha.properties}, {@code beta.properties}), each with its own data directory. Alpha,
 * the smaller id, dials beta's private link, optionally through a proxy so that a test can cut it.
 */
public final class LoopbackPair {

    /** The node that dials the private link. */
    public static final String ALPHA = "alpha";
    /** The node that listens. */
    public static final String BETA = "beta";

    private final Path directory;
    private final Map<String, InetAddress> hosts = Map.of(ALPHA, LoopbackAddresses.next(),
            BETA, LoopbackAddresses.next());
    private final String secretHex;
    private final Map<String, String> settings = new LinkedHashMap<>();
    private final Map<String, Map<String, String>> nodeSettings = new LinkedHashMap<>();
    private InetSocketAddress alphaDials;

    private LoopbackPair(Path directory) {
        this.directory = directory;
        this.alphaDials = privateAddress(BETA);
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        this.secretHex = HexFormat.of().formatHex(secret);
    }

    /**
     * Chooses addresses and a secret for a pair in a directory; nothing is written yet.
     *
     * @param directory where the configuration, secret and data directories go
     * @return the pair
     */
    public static LoopbackPair in(Path directory) {
        return new LoopbackPair(directory);
    }

    /**
     * Adds a setting to both nodes' configuration.
     *
     * @param key   the key
     * @param value the value
     * @return this
     */
    public LoopbackPair with(String key, String value) {
        settings.put(key, value);
        return this;
    }

    /**
     * Adds a setting to one node's configuration only (a listen port, say).
     *
     * @param node  {@link #ALPHA} or {@link #BETA}
     * @param key   the key
     * @param value the value
     * @return this
     */
    public LoopbackPair withNode(String node, String key, String value) {
        nodeSettings.computeIfAbsent(node, n -> new LinkedHashMap<>()).put(key, value);
        return this;
    }

    /**
     * Gives each node an NBD server on its own address.
     *
     * @return this
     */
    public LoopbackPair withNbd() {
        withNode(ALPHA, "nbd.listen", LoopbackAddresses.text(nbdAddress(ALPHA)));
        return withNode(BETA, "nbd.listen", LoopbackAddresses.text(nbdAddress(BETA)));
    }

    /**
     * A node's own loopback address.
     *
     * @param node {@link #ALPHA} or {@link #BETA}
     * @return its address
     */
    public InetAddress host(String node) {
        InetAddress host = hosts.get(node);
        if (host == null) {
            throw new IllegalArgumentException("no node " + node + " in a loopback pair (alpha or beta)");
        }
        return host;
    }

    /**
     * Where a node listens for the private link.
     *
     * @param node {@link #ALPHA} or {@link #BETA}
     * @return its address
     */
    public InetSocketAddress privateAddress(String node) {
        return new InetSocketAddress(host(node), LoopbackAddresses.PRIVATE_PORT);
    }

    /**
     * Where a node's NBD server listens once {@link #withNbd()} gave it one.
     *
     * @param node {@link #ALPHA} or {@link #BETA}
     * @return its address
     */
    public InetSocketAddress nbdAddress(String node) {
        return new InetSocketAddress(host(node), LoopbackAddresses.NBD_PORT);
    }

    /**
     * The NBD URI of an export on a node configured with {@link #withNbd()}.
     *
     * @param node   {@link #ALPHA} or {@link #BETA}
     * @param export the volume's name
     * @return such as {@code nbd://127.0.0.1:10809/data}
     */
    public String nbdUri(String node, String export) {
        String listen = nodeSettings.getOrDefault(node, Map.of()).get("nbd.listen");
        if (listen == null) {
            throw new IllegalStateException(node + " has no nbd.listen; call withNbd() first");
        }
        return "nbd://" + listen + "/" + export;
    }

    /**
     * Makes alpha dial beta's private link at another address (a proxy in front of beta).
     *
     * @param address the address alpha dials
     * @return this
     */
    public LoopbackPair alphaDials(InetSocketAddress address) {
        this.alphaDials = address;
        return this;
    }

    /** @return the directory */
    public Path directory() {
        return directory;
    }

    /**
     * Writes the secret and both configuration files.
     *
     * @return this
     */
    public LoopbackPair write() {
        try {
            Files.createDirectories(directory);
            Files.writeString(directory.resolve("pairing.secret"), "hex:" + secretHex + "\n", StandardCharsets.UTF_8);
            write(ALPHA, BETA, alphaDials);
            write(BETA, ALPHA, privateAddress(ALPHA));
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes one node's configuration with a different pairing secret (to test that it is refused).
     *
     * @param node the node
     * @return its configuration file
     */
    public Path writeWithWrongSecret(String node) {
        try {
            Files.writeString(directory.resolve("wrong.secret"), "hex:" + "ab".repeat(32) + "\n", StandardCharsets.UTF_8);
            Path file = configOf(node);
            String text = Files.readString(file, StandardCharsets.UTF_8)
                    .replace("pairing.secret-file = pairing.secret", "pairing.secret-file = wrong.secret");
            Files.writeString(file, text, StandardCharsets.UTF_8);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A node's configuration file.
     *
     * @param node {@link #ALPHA} or {@link #BETA}
     * @return its path
     */
    public Path configOf(String node) {
        return directory.resolve(node + ".properties");
    }

    /**
     * A node's data directory.
     *
     * @param node {@link #ALPHA} or {@link #BETA}
     * @return its path
     */
    public Path dataOf(String node) {
        return directory.resolve(node + "-data");
    }

    private void write(String self, String peer, InetSocketAddress dial) throws IOException {
        StringBuilder text = new StringBuilder()
                .append("# ").append(self).append(": one node of a pair on loopback\n")
                .append("node.id = ").append(self).append('\n')
                .append("node.data-dir = ").append(self).append("-data\n")
                .append("pairing.secret-file = pairing.secret\n")
                .append("private.listen = ").append(LoopbackAddresses.text(privateAddress(self))).append('\n')
                .append("peer.id = ").append(peer).append('\n')
                .append("peer.private-address = ").append(LoopbackAddresses.text(dial)).append('\n')
                .append("public.lan.bind = ").append(host(self).getHostAddress()).append(':')
                .append(LoopbackAddresses.PUBLIC_PORT).append('\n')
                .append("public.lan.peer = ").append(host(peer).getHostAddress()).append(':')
                .append(LoopbackAddresses.PUBLIC_PORT).append('\n');
        Map<String, String> all = new LinkedHashMap<>(settings);
        all.putAll(nodeSettings.getOrDefault(self, Map.of()));
        for (Map.Entry<String, String> setting : all.entrySet()) {
            text.append(setting.getKey()).append(" = ").append(setting.getValue()).append('\n');
        }
        Files.writeString(configOf(self), text.toString(), StandardCharsets.UTF_8);
    }
}
