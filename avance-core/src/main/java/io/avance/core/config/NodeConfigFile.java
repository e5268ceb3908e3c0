package io.avance.core.config;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.failover.PolicyConfig;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a node's configuration from a {@code key = value} file (Java properties syntax).
 *
 * <pre>
 * node.id = alpha
 * node.data-dir = /var/lib/avance
 * pairing.secret-file = /etc/avance/pairing.secret
 * private.listen = 10.0.0.1:7400
 * peer.id = beta
 * peer.private-address = 10.0.0.2:7400
 * public.lan.bind = 192.168.1.10:7401
 * public.lan.peer = 192.168.1.11:7401
 * public.lan.probe = 192.168.1.1:53
 * timing.heartbeat-interval = 100ms
 * volume.data.size = 8GiB
 * nbd.listen = 127.0.0.1:10809
 * </pre>
 *
 * <p>Unknown keys are errors: a misspelt timeout must not silently fall back to its default.
 * Relative paths resolve against the file's directory.
 */
public final class NodeConfigFile {

    private static final Set<String> SCALAR_KEYS = Set.of("node.id", "node.data-dir", "pairing.secret-file",
            "pairing.secret", "private.listen", "peer.id", "peer.private-address", "timing.heartbeat-interval",
            "timing.detection-minimum", "timing.detection-maximum", "timing.safety-margin", "detector.phi-threshold",
            "engine.tick-interval", "link.handshake-timeout", "link.reconnect-interval", "link.max-frame-size",
            "policy.health-margin", "policy.failover-hold-off", "policy.reboot-hold-off", "policy.incident-window",
            "policy.backup-mtbf-threshold", "policy.vm-restart-limit", "witness.address", "nbd.listen",
            "replication.resync-rate", "replication.ack-timeout", "hypervisor",
            "admin.socket");
    private static final Set<String> PUBLIC_KEYS = Set.of("bind", "peer", "probe");
    private static final Set<String> VOLUME_KEYS = Set.of("size", "bitmap-block-size", "path");
    private static final Set<String> VM_KEYS = Set.of("cores", "memory", "disks", "networks", "start");

    private NodeConfigFile() {
    }

    /**
     * Reads and validates a configuration file.
     *
     * @param file the file
     * @return the configuration
     * @throws ConfigException      naming the key at fault
     * @throws UncheckedIOException if the file cannot be read
     */
    public static NodeConfig read(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return parse(new StringReader(text), file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read configuration file " + file, e);
        }
    }

    /**
     * Parses and validates configuration text.
     *
     * @param reader        the text
     * @param baseDirectory what relative paths resolve against
     * @return the configuration
     * @throws ConfigException naming the key at fault
     */
    public static NodeConfig parse(Reader reader, Path baseDirectory) {
        Properties properties = new Properties();
        try {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("(file)", "", "not a key = value file: " + e.getMessage());
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String key : new TreeSet<>(properties.stringPropertyNames())) {
            values.put(key, properties.getProperty(key).trim());
        }
        Map<String, Map<String, String>> publics = new LinkedHashMap<>();
        Map<String, Map<String, String>> volumes = new LinkedHashMap<>();
        Map<String, Map<String, String>> vms = new LinkedHashMap<>();
        Map<String, String> operations = new LinkedHashMap<>();
        for (Map.Entry<String, String> entry : values.entrySet()) {
            String key = entry.getKey();
            if (OperationsConfigFile.owns(key)) {
                operations.put(key, entry.getValue());
            } else if (key.startsWith("vm.")) {
                String rest = key.substring("vm.".length());
                int dot = rest.indexOf('.');
                String field = dot <= 0 ? "" : rest.substring(dot + 1);
                if (dot <= 0 || !(VM_KEYS.contains(field) || field.startsWith("option.") && field.length() > 7)) {
                    throw new ConfigException(key, entry.getValue(), "unknown key (VMs take vm.NAME.cores, "
                            + "vm.NAME.memory, vm.NAME.disks, vm.NAME.networks, vm.NAME.start, vm.NAME.option.KEY)");
                }
                vms.computeIfAbsent(rest.substring(0, dot), name -> new LinkedHashMap<>()).put(field, entry.getValue());
            } else if (key.startsWith("volume.")) {
                String rest = key.substring("volume.".length());
                int dot = rest.lastIndexOf('.');
                if (dot <= 0 || !VOLUME_KEYS.contains(rest.substring(dot + 1))) {
                    throw new ConfigException(key, entry.getValue(), "unknown key (volumes take volume.NAME.size, "
                            + "volume.NAME.bitmap-block-size, volume.NAME.path)");
                }
                volumes.computeIfAbsent(rest.substring(0, dot), name -> new LinkedHashMap<>())
                        .put(rest.substring(dot + 1), entry.getValue());
            } else if (key.startsWith("public.")) {
                String rest = key.substring("public.".length());
                int dot = rest.lastIndexOf('.');
                if (dot <= 0 || !PUBLIC_KEYS.contains(rest.substring(dot + 1))) {
                    throw new ConfigException(key, entry.getValue(),
                            "unknown key (public networks take public.NAME.bind, public.NAME.peer, public.NAME.probe)");
                }
                publics.computeIfAbsent(rest.substring(0, dot), name -> new LinkedHashMap<>())
                        .put(rest.substring(dot + 1), entry.getValue());
            } else if (!SCALAR_KEYS.contains(key)) {
                throw new ConfigException(key, entry.getValue(), "unknown key");
            }
        }

        NodeConfig.Builder builder = NodeConfig.builder(values.get("node.id"));
        optional(values, "node.data-dir").ifPresent(dir -> builder.dataDirectory(baseDirectory.resolve(dir)));
        optional(values, "private.listen").ifPresent(v -> builder.privateListen(ConfigValues.address("private.listen", v)));
        Optional<String> peerId = optional(values, "peer.id");
        if (peerId.isPresent()) {
            String address = optional(values, "peer.private-address").orElseThrow(() ->
                    new ConfigException("peer.private-address", "", "required when peer.id is set"));
            builder.peer(peerId.get(), ConfigValues.address("peer.private-address", address));
        } else if (values.containsKey("peer.private-address")) {
            throw new ConfigException("peer.id", "", "required when peer.private-address is set");
        }
        readSecret(values, baseDirectory).ifPresent(builder::pairingSecret);
        optional(values, "witness.address").ifPresent(v -> builder.witness(ConfigValues.address("witness.address", v)));
        for (Map.Entry<String, Map<String, String>> group : publics.entrySet()) {
            String name = group.getKey();
            Map<String, String> keys = group.getValue();
            String prefix = "public." + name + ".";
            if (!keys.containsKey("bind") || !keys.containsKey("peer")) {
                throw new ConfigException(prefix + (keys.containsKey("bind") ? "peer" : "bind"), "",
                        "a public network needs both " + prefix + "bind and " + prefix + "peer");
            }
            builder.publicPath(new PublicPath(name, ConfigValues.address(prefix + "bind", keys.get("bind")),
                    ConfigValues.address(prefix + "peer", keys.get("peer")),
                    Optional.ofNullable(keys.get("probe")).map(v -> ConfigValues.address(prefix + "probe", v))));
        }
        for (Map.Entry<String, Map<String, String>> group : volumes.entrySet()) {
            builder.volume(volume(group.getKey(), group.getValue(), baseDirectory));
        }
        for (Map.Entry<String, Map<String, String>> group : vms.entrySet()) {
            builder.vm(vm(group.getKey(), group.getValue(), volumes));
        }
        optional(values, "hypervisor").ifPresent(builder::hypervisor);
        optional(values, "admin.socket").ifPresent(v -> builder.adminSocket(v.equals("none") ? null
                : baseDirectory.resolve(v)));
        optional(values, "nbd.listen").ifPresent(v -> builder.nbdListen(ConfigValues.address("nbd.listen", v)));
        optional(values, "replication.resync-rate").ifPresent(v -> builder.resyncRateBytesPerSecond(
                ConfigValues.sizeBytes("replication.resync-rate", v.endsWith("/s") ? v.substring(0, v.length() - 2) : v)));
        durationKey(values, "replication.ack-timeout", builder::replicationAckTimeoutNanos);
        durationKey(values, "timing.heartbeat-interval", builder::heartbeatIntervalNanos);
        durationKey(values, "timing.detection-minimum", builder::detectionMinimumNanos);
        durationKey(values, "timing.detection-maximum", builder::detectionMaximumNanos);
        durationKey(values, "timing.safety-margin", builder::safetyMarginNanos);
        durationKey(values, "engine.tick-interval", builder::tickIntervalNanos);
        durationKey(values, "link.handshake-timeout", builder::handshakeTimeoutNanos);
        durationKey(values, "link.reconnect-interval", builder::reconnectIntervalNanos);
        optional(values, "detector.phi-threshold").ifPresent(v ->
                builder.phiThreshold(ConfigValues.positiveNumber("detector.phi-threshold", v)));
        optional(values, "link.max-frame-size").ifPresent(v -> {
            long bytes = ConfigValues.sizeBytes("link.max-frame-size", v);
            if (bytes > Integer.MAX_VALUE) {
                throw new ConfigException("link.max-frame-size", v, "must be at most 64MiB");
            }
            builder.maxFrameBytes((int) bytes);
        });
        builder.policy(policy(values));
        builder.operations(OperationsConfigFile.parse(operations, baseDirectory, values.get("node.id")));
        return builder.build();
    }

    private static VolumeConfig volume(String name, Map<String, String> keys, Path baseDirectory) {
        String prefix = "volume." + name + ".";
        String sizeText = keys.get("size");
        if (sizeText == null) {
            throw new ConfigException(prefix + "size", "", "required: the volume's size, such as 8GiB");
        }
        long size = ConfigValues.sizeBytes(prefix + "size", sizeText);
        long block = keys.containsKey("bitmap-block-size")
                ? ConfigValues.sizeBytes(prefix + "bitmap-block-size", keys.get("bitmap-block-size"))
                : VolumeSpec.DEFAULT_BITMAP_BLOCK_SIZE;
        VolumeSpec spec;
        try {
            spec = new VolumeSpec(name, size, (int) Math.min(Integer.MAX_VALUE, block));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(prefix + "*", name, e.getMessage());
        }
        return new VolumeConfig(spec, Optional.ofNullable(keys.get("path")).filter(v -> !v.isEmpty())
                .map(baseDirectory::resolve));
    }

    private static VmConfig vm(String name, Map<String, String> keys, Map<String, Map<String, String>> volumes) {
        String prefix = "vm." + name + ".";
        int cores = 1;
        if (keys.containsKey("cores")) {
            try {
                cores = Integer.parseInt(keys.get("cores"));
            } catch (NumberFormatException e) {
                throw new ConfigException(prefix + "cores", keys.get("cores"), "not a whole number");
            }
        }
        String memoryText = keys.get("memory");
        if (memoryText == null) {
            throw new ConfigException(prefix + "memory", "", "required: the VM's memory, such as 512MiB");
        }
        long memory = ConfigValues.sizeBytes(prefix + "memory", memoryText);
        java.util.List<io.avance.api.hypervisor.VmSpec.Disk> disks = new java.util.ArrayList<>();
        for (String volume : list(keys.get("disks"))) {
            Map<String, String> volumeKeys = volumes.get(volume);
            if (volumeKeys == null || !volumeKeys.containsKey("size")) {
                throw new ConfigException(prefix + "disks", keys.get("disks"), "volume '" + volume
                        + "' is not configured (volume." + volume + ".size)");
            }
            disks.add(new io.avance.api.hypervisor.VmSpec.Disk(volume,
                    ConfigValues.sizeBytes("volume." + volume + ".size", volumeKeys.get("size")), 1));
        }
        java.util.List<io.avance.api.hypervisor.VmSpec.Network> networks = new java.util.ArrayList<>();
        for (String network : list(keys.get("networks"))) {
            networks.add(new io.avance.api.hypervisor.VmSpec.Network(network, Optional.empty()));
        }
        Map<String, String> options = new java.util.TreeMap<>();
        keys.forEach((field, value) -> {
            if (field.startsWith("option.")) {
                options.put(field.substring("option.".length()), value);
            }
        });
        boolean start = true;
        if (keys.containsKey("start")) {
            String text = keys.get("start");
            if (!text.equals("true") && !text.equals("false")) {
                throw new ConfigException(prefix + "start", text, "must be true or false");
            }
            start = text.equals("true");
        }
        try {
            return new VmConfig(new io.avance.api.hypervisor.VmSpec(name, cores, memory, disks, networks, options),
                    start);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(prefix + "*", name, e.getMessage());
        }
    }

    private static java.util.List<String> list(String text) {
        java.util.List<String> items = new java.util.ArrayList<>();
        if (text != null) {
            for (String item : text.split(",")) {
                if (!item.isBlank()) {
                    items.add(item.trim());
                }
            }
        }
        return items;
    }

    private static PolicyConfig policy(Map<String, String> values) {
        PolicyConfig defaults = PolicyConfig.defaults();
        int margin = defaults.healthMargin();
        Optional<String> marginText = optional(values, "policy.health-margin");
        if (marginText.isPresent()) {
            try {
                margin = Integer.parseInt(marginText.get());
            } catch (NumberFormatException e) {
                throw new ConfigException("policy.health-margin", marginText.get(), "not a whole number");
            }
        }
        int restarts = defaults.vmRestartLimit();
        Optional<String> restartText = optional(values, "policy.vm-restart-limit");
        if (restartText.isPresent()) {
            try {
                restarts = Integer.parseInt(restartText.get());
            } catch (NumberFormatException e) {
                throw new ConfigException("policy.vm-restart-limit", restartText.get(), "not a whole number");
            }
        }
        long failoverHoldOff = duration(values, "policy.failover-hold-off", defaults.failoverHoldOffNanos());
        long rebootHoldOff = duration(values, "policy.reboot-hold-off", defaults.rebootHoldOffNanos());
        long window = duration(values, "policy.incident-window", defaults.incidentWindowNanos());
        long threshold = duration(values, "policy.backup-mtbf-threshold", defaults.backupMtbfThresholdNanos());
        try {
            return new PolicyConfig(margin, failoverHoldOff, rebootHoldOff, window, threshold,
                    defaults.minIncidentsForMtbf(), restarts, defaults.vmRestartBackoffNanos(),
                    defaults.vmRestartBackoffMaxNanos(), defaults.rebootableComponents());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("policy", "", e.getMessage());
        }
    }

    private static void durationKey(Map<String, String> values, String key, java.util.function.LongConsumer setter) {
        optional(values, key).ifPresent(v -> setter.accept(ConfigValues.durationNanos(key, v)));
    }

    private static long duration(Map<String, String> values, String key, long otherwise) {
        return optional(values, key).map(v -> ConfigValues.durationNanos(key, v)).orElse(otherwise);
    }

    /**
     * Decodes a pairing secret written as {@code hex:...}, {@code base64:...}, or bare hex.
     *
     * @param key  the key it came from, for errors
     * @param text the encoded secret
     * @return the secret's bytes
     */
    public static byte[] decodeSecret(String key, String text) {
        String trimmed = text.trim();
        try {
            if (trimmed.startsWith("base64:")) {
                return Base64.getDecoder().decode(trimmed.substring("base64:".length()));
            }
            return HexFormat.of().parseHex(trimmed.startsWith("hex:") ? trimmed.substring("hex:".length()) : trimmed);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, "<redacted>", "the secret must be hex, hex:..., or base64:...");
        }
    }

    private static Optional<byte[]> readSecret(Map<String, String> values, Path baseDirectory) {
        Optional<String> inline = optional(values, "pairing.secret");
        Optional<String> file = optional(values, "pairing.secret-file");
        if (inline.isPresent() && file.isPresent()) {
            throw new ConfigException("pairing.secret", "<redacted>", "set pairing.secret or pairing.secret-file, not both");
        }
        if (inline.isPresent()) {
            return Optional.of(decodeSecret("pairing.secret", inline.get()));
        }
        if (file.isPresent()) {
            Path path = baseDirectory.resolve(file.get());
            try {
                return Optional.of(decodeSecret("pairing.secret-file", Files.readString(path, StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new ConfigException("pairing.secret-file", file.get(), "cannot read: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> optional(Map<String, String> values, String key) {
        return Optional.ofNullable(values.get(key)).filter(v -> !v.isEmpty());
    }
}
