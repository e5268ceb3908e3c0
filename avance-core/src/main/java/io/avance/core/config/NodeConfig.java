package io.avance.core.config;

import io.avance.api.NodeId;
import io.avance.api.failover.PairTimings;
import io.avance.core.failover.PolicyConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Everything a node needs to start, validated.
 *
 * <p>Build one with {@link #builder(String)} or read one with {@link NodeConfigFile#read}. Every
 * rule is checked by {@link Builder#build()}, and a broken rule is a {@link ConfigException}
 * naming the key (as spelled in the configuration file) and the value. Immutable and
 * thread-safe; {@link #toString()} never shows the pairing secret.
 */
public final class NodeConfig {

    /** The least pairing secret length: 256 bits. */
    public static final int MIN_SECRET_BYTES = 32;

    private final NodeId nodeId;
    private final Path dataDirectory;
    private final Optional<Peer> peer;
    private final InetSocketAddress privateListen;
    private final List<PublicPath> publicPaths;
    private final byte[] pairingSecret;
    private final PairTimings timings;
    private final double phiThreshold;
    private final long tickIntervalNanos;
    private final long handshakeTimeoutNanos;
    private final long reconnectIntervalNanos;
    private final int maxFrameBytes;
    private final PolicyConfig policy;
    private final Optional<InetSocketAddress> witness;
    private final List<VolumeConfig> volumes;
    private final Optional<InetSocketAddress> nbdListen;
    private final long resyncRateBytesPerSecond;
    private final long replicationAckTimeoutNanos;
    private final List<VmConfig> vms;
    private final Optional<Path> adminSocket;
    private final Optional<String> hypervisor;
    private final OperationsConfig operations;

    private NodeConfig(Builder builder, NodeId nodeId, Optional<Peer> peer, PairTimings timings) {
        this.nodeId = nodeId;
        this.dataDirectory = builder.dataDirectory;
        this.peer = peer;
        this.privateListen = builder.privateListen;
        this.publicPaths = List.copyOf(builder.publicPaths);
        this.operations = builder.operations;
        this.pairingSecret = builder.pairingSecret == null ? new byte[0] : builder.pairingSecret.clone();
        this.timings = timings;
        this.phiThreshold = builder.phiThreshold;
        this.tickIntervalNanos = builder.tickIntervalNanos;
        this.handshakeTimeoutNanos = builder.handshakeTimeoutNanos;
        this.reconnectIntervalNanos = builder.reconnectIntervalNanos;
        this.maxFrameBytes = builder.maxFrameBytes;
        this.policy = builder.policy;
        this.witness = Optional.ofNullable(builder.witness);
        this.volumes = List.copyOf(builder.volumes);
        this.nbdListen = Optional.ofNullable(builder.nbdListen);
        this.resyncRateBytesPerSecond = builder.resyncRateBytesPerSecond;
        this.replicationAckTimeoutNanos = builder.replicationAckTimeoutNanos;
        this.vms = List.copyOf(builder.vms);
        this.adminSocket = builder.adminSocketDisabled ? Optional.empty()
                : Optional.of(builder.adminSocket != null ? builder.adminSocket : dataDirectory.resolve("admin.sock"));
        this.hypervisor = Optional.ofNullable(builder.hypervisor);
    }

    /**
     * Starts a configuration for the node with the given id.
     *
     * @param nodeId the node's id ({@code node.id})
     * @return a builder with every other setting at its default
     */
    public static Builder builder(String nodeId) {
        return new Builder(nodeId);
    }

    /** @return this node's id ({@code node.id}) */
    public NodeId nodeId() {
        return nodeId;
    }

    /** @return where the node keeps its state, journal and volumes ({@code node.data-dir}) */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** @return the peer, or empty for a standalone node */
    public Optional<Peer> peer() {
        return peer;
    }

    /** @return where the private link listens ({@code private.listen}) */
    public InetSocketAddress privateListen() {
        return privateListen;
    }

    /** @return the public networks ({@code public.NAME.*}) */
    public List<PublicPath> publicPaths() {
        return publicPaths;
    }

    /** @return a copy of the pairing secret */
    public byte[] pairingSecret() {
        return pairingSecret.clone();
    }

    /** @return the pair's timing rules ({@code timing.*}) */
    public PairTimings timings() {
        return timings;
    }

    /** @return the phi above which the detector suspects the peer ({@code detector.phi-threshold}) */
    public double phiThreshold() {
        return phiThreshold;
    }

    /** @return how often the engine's duty cycle runs ({@code engine.tick-interval}) */
    public long tickIntervalNanos() {
        return tickIntervalNanos;
    }

    /** @return how long a private-link handshake may take ({@code link.handshake-timeout}) */
    public long handshakeTimeoutNanos() {
        return handshakeTimeoutNanos;
    }

    /** @return how long to wait between attempts to dial the peer ({@code link.reconnect-interval}) */
    public long reconnectIntervalNanos() {
        return reconnectIntervalNanos;
    }

    /** @return the largest frame the private link accepts ({@code link.max-frame-size}) */
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /** @return the quorum witness's address ({@code witness.address}), if the pair has one */
    public Optional<InetSocketAddress> witness() {
        return witness;
    }

    /** @return the default failover policy's settings ({@code policy.*}) */
    public PolicyConfig policy() {
        return policy;
    }

    /** @return the volumes opened at start ({@code volume.NAME.*}) */
    public List<VolumeConfig> volumes() {
        return volumes;
    }

    /** @return where the NBD server listens ({@code nbd.listen}); empty for no NBD server */
    public Optional<InetSocketAddress> nbdListen() {
        return nbdListen;
    }

    /** @return the resync rate limit in bytes per second ({@code replication.resync-rate}); 0 for none */
    public long resyncRateBytesPerSecond() {
        return resyncRateBytesPerSecond;
    }

    /**
     * @return how long a replicated write may wait for the peer before the data session is dropped
     *         ({@code replication.ack-timeout}, default 30 s)
     */
    public long replicationAckTimeoutNanos() {
        return replicationAckTimeoutNanos;
    }

    /**
     * @return the administration socket the command line talks to ({@code admin.socket}; default
     *         {@code admin.sock} in the data directory; empty when set to {@code none})
     */
    public Optional<Path> adminSocket() {
        return adminSocket;
    }

    /** @return the VMs the file defines ({@code vm.NAME.*}) */
    public List<VmConfig> vms() {
        return vms;
    }

    /**
     * @return the hypervisor adapter to use, by name ({@code hypervisor}, such as "simulated" or
     *         "xen"), found with {@link java.util.ServiceLoader}; empty for the one the embedding
     *         program passes, or none
     */
    public Optional<String> hypervisor() {
        return hypervisor;
    }

    /** @return where volume data and metadata live: {@code volumes} in the data directory */
    public Path volumeDirectory() {
        return dataDirectory.resolve("volumes");
    }

    /**
     * The operations services' settings: monitor, alerts, call home, bundle, virtual addresses.
     *
     * @return the settings ({@link OperationsConfig#none()} unless set)
     */
    public OperationsConfig operations() {
        return operations;
    }

    /**
     * Tells whether this node has no peer.
     *
     * @return true for a standalone node
     */
    public boolean standalone() {
        return peer.isEmpty();
    }

    @Override
    public String toString() {
        return "NodeConfig{node.id=" + nodeId + ", node.data-dir=" + dataDirectory
                + ", peer=" + peer.map(Peer::toString).orElse("none (standalone)")
                + ", private.listen=" + privateListen + ", public=" + publicPaths
                + ", pairing.secret=<" + pairingSecret.length + " bytes, redacted>"
                + ", timings=" + timings + ", detector.phi-threshold=" + phiThreshold
                + ", engine.tick-interval=" + ConfigValues.formatNanos(tickIntervalNanos)
                + ", volumes=" + volumes + ", nbd.listen=" + nbdListen.map(Object::toString).orElse("none")
                + ", replication.resync-rate=" + (resyncRateBytesPerSecond == 0 ? "unlimited"
                : resyncRateBytesPerSecond + " B/s") + ", operations=" + operations + "}";
    }

    /**
     * The other node of the pair.
     *
     * @param id             its id ({@code peer.id})
     * @param privateAddress where to reach its private link ({@code peer.private-address})
     */
    public record Peer(NodeId id, InetSocketAddress privateAddress) {
        /**
         * Validates the fields.
         */
        public Peer {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(privateAddress, "privateAddress");
        }
    }

    /**
     * Collects settings; {@link #build()} validates them all.
     */
    public static final class Builder {
        private final String nodeId;
        private Path dataDirectory;
        private String peerId;
        private InetSocketAddress peerPrivateAddress;
        private InetSocketAddress privateListen = InetSocketAddress.createUnresolved("0.0.0.0", 7400);
        private final List<PublicPath> publicPaths = new ArrayList<>();
        private byte[] pairingSecret;
        private long heartbeatIntervalNanos = PairTimings.defaults().heartbeatIntervalNanos();
        private long detectionMinimumNanos = PairTimings.defaults().detectionMinimumNanos();
        private long detectionMaximumNanos = PairTimings.defaults().detectionMaximumNanos();
        private long safetyMarginNanos = PairTimings.defaults().safetyMarginNanos();
        private double phiThreshold = 8.0;
        private long tickIntervalNanos = 20_000_000L;
        private long handshakeTimeoutNanos = 2_000_000_000L;
        private long reconnectIntervalNanos = 200_000_000L;
        private int maxFrameBytes = 16 << 20;
        private PolicyConfig policy = PolicyConfig.defaults();
        private InetSocketAddress witness;
        private final List<VolumeConfig> volumes = new ArrayList<>();
        private InetSocketAddress nbdListen;
        private long resyncRateBytesPerSecond;
        private long replicationAckTimeoutNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        private final List<VmConfig> vms = new ArrayList<>();
        private OperationsConfig operations = OperationsConfig.none();
        private Path adminSocket;
        private boolean adminSocketDisabled;
        private String hypervisor;

        private Builder(String nodeId) {
            this.nodeId = nodeId;
        }

        /** @param directory {@code node.data-dir} @return this */
        public Builder dataDirectory(Path directory) {
            this.dataDirectory = directory;
            return this;
        }

        /**
         * Names the peer and where to dial its private link.
         *
         * @param id             {@code peer.id}
         * @param privateAddress {@code peer.private-address}
         * @return this
         */
        public Builder peer(String id, InetSocketAddress privateAddress) {
            this.peerId = id;
            this.peerPrivateAddress = privateAddress;
            return this;
        }

        /** @param address {@code private.listen} @return this */
        public Builder privateListen(InetSocketAddress address) {
            this.privateListen = address;
            return this;
        }

        /** @param path one {@code public.NAME.*} group @return this */
        public Builder publicPath(PublicPath path) {
            this.publicPaths.add(path);
            return this;
        }

        /** @param secret the pairing secret, at least 32 bytes @return this */
        public Builder pairingSecret(byte[] secret) {
            this.pairingSecret = secret.clone();
            return this;
        }

        /** @param nanos {@code timing.heartbeat-interval} @return this */
        public Builder heartbeatIntervalNanos(long nanos) {
            this.heartbeatIntervalNanos = nanos;
            return this;
        }

        /** @param nanos {@code timing.detection-minimum} @return this */
        public Builder detectionMinimumNanos(long nanos) {
            this.detectionMinimumNanos = nanos;
            return this;
        }

        /** @param nanos {@code timing.detection-maximum} @return this */
        public Builder detectionMaximumNanos(long nanos) {
            this.detectionMaximumNanos = nanos;
            return this;
        }

        /** @param nanos {@code timing.safety-margin} @return this */
        public Builder safetyMarginNanos(long nanos) {
            this.safetyMarginNanos = nanos;
            return this;
        }

        /** @param threshold {@code detector.phi-threshold} @return this */
        public Builder phiThreshold(double threshold) {
            this.phiThreshold = threshold;
            return this;
        }

        /** @param nanos {@code engine.tick-interval} @return this */
        public Builder tickIntervalNanos(long nanos) {
            this.tickIntervalNanos = nanos;
            return this;
        }

        /** @param nanos {@code link.handshake-timeout} @return this */
        public Builder handshakeTimeoutNanos(long nanos) {
            this.handshakeTimeoutNanos = nanos;
            return this;
        }

        /** @param nanos {@code link.reconnect-interval} @return this */
        public Builder reconnectIntervalNanos(long nanos) {
            this.reconnectIntervalNanos = nanos;
            return this;
        }

        /** @param bytes {@code link.max-frame-size} @return this */
        public Builder maxFrameBytes(int bytes) {
            this.maxFrameBytes = bytes;
            return this;
        }

        /** @param address the quorum witness ({@code witness.address}) @return this */
        public Builder witness(InetSocketAddress address) {
            this.witness = address;
            return this;
        }

        /** @param volume a volume to open at start ({@code volume.NAME.*}) @return this */
        public Builder volume(VolumeConfig volume) {
            this.volumes.add(java.util.Objects.requireNonNull(volume));
            return this;
        }

        /** @param address where the NBD server listens ({@code nbd.listen}) @return this */
        public Builder nbdListen(InetSocketAddress address) {
            this.nbdListen = address;
            return this;
        }

        /** @param socket the administration socket, or null for none ({@code admin.socket}) @return this */
        public Builder adminSocket(Path socket) {
            this.adminSocket = socket;
            this.adminSocketDisabled = socket == null;
            return this;
        }

        /** @param vm a VM to define when this node is primary ({@code vm.NAME.*}) @return this */
        public Builder vm(VmConfig vm) {
            this.vms.add(Objects.requireNonNull(vm, "vm"));
            return this;
        }

        /** @param name the hypervisor adapter's name ({@code hypervisor}) @return this */
        public Builder hypervisor(String name) {
            this.hypervisor = Objects.requireNonNull(name, "name");
            return this;
        }

        /** @param nanos how long a replicated write may wait for the peer ({@code replication.ack-timeout}) @return this */
        public Builder replicationAckTimeoutNanos(long nanos) {
            this.replicationAckTimeoutNanos = nanos;
            return this;
        }

        /** @param bytesPerSecond the resync rate limit, 0 for none ({@code replication.resync-rate}) @return this */
        public Builder resyncRateBytesPerSecond(long bytesPerSecond) {
            this.resyncRateBytesPerSecond = bytesPerSecond;
            return this;
        }

        /** @param operations monitor, alert, call-home, bundle and virtual-address settings @return this */
        public Builder operations(OperationsConfig operations) {
            this.operations = java.util.Objects.requireNonNull(operations);
            return this;
        }

        /** @param policy the default policy's settings ({@code policy.*}) @return this */
        public Builder policy(PolicyConfig policy) {
            this.policy = java.util.Objects.requireNonNull(policy);
            return this;
        }

        /**
         * Validates every setting.
         *
         * @return the configuration
         * @throws ConfigException naming the first key whose value breaks a rule
         */
        public NodeConfig build() {
            NodeId id = nodeId("node.id", nodeId);
            if (dataDirectory == null) {
                throw new ConfigException("node.data-dir", "", "required: the directory for the node's state and volumes");
            }
            Optional<Peer> peer = Optional.empty();
            if (peerId != null) {
                NodeId peerNodeId = nodeId("peer.id", peerId);
                if (peerNodeId.equals(id)) {
                    throw new ConfigException("peer.id", peerId, "must differ from node.id");
                }
                if (peerPrivateAddress == null) {
                    throw new ConfigException("peer.private-address", "", "required when peer.id is set");
                }
                peer = Optional.of(new Peer(peerNodeId, peerPrivateAddress));
                if (pairingSecret == null) {
                    throw new ConfigException("pairing.secret-file", "", "required when peer.id is set: "
                            + "both nodes must hold the same secret (avance init writes one)");
                }
                if (pairingSecret.length < MIN_SECRET_BYTES) {
                    throw new ConfigException("pairing.secret-file", "<" + pairingSecret.length + " bytes>",
                            "the pairing secret must be at least " + MIN_SECRET_BYTES + " bytes");
                }
                if (publicPaths.isEmpty() && witness == null) {
                    throw new ConfigException("public", "", "a pair needs at least one public network "
                            + "(public.NAME.bind and public.NAME.peer) or a witness (witness.address): without a "
                            + "second path a dead private link cannot be told apart from a dead peer");
                }
            }
            Set<String> names = new HashSet<>();
            for (PublicPath path : publicPaths) {
                if (!path.name().matches("[A-Za-z0-9][A-Za-z0-9._-]{0,31}")) {
                    throw new ConfigException("public." + path.name(), path.name(),
                            "a network name is 1-32 characters of A-Z a-z 0-9 . _ -");
                }
                if (!names.add(path.name())) {
                    throw new ConfigException("public." + path.name(), path.name(), "network named twice");
                }
            }
            PairTimings timings;
            try {
                timings = new PairTimings(heartbeatIntervalNanos, detectionMinimumNanos, detectionMaximumNanos,
                        safetyMarginNanos);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("timing", describeTimings(), e.getMessage());
            }
            if (!(phiThreshold > 0) || Double.isInfinite(phiThreshold)) {
                throw new ConfigException("detector.phi-threshold", String.valueOf(phiThreshold), "must be positive");
            }
            if (tickIntervalNanos <= 0 || tickIntervalNanos * 2 > heartbeatIntervalNanos) {
                throw new ConfigException("engine.tick-interval", ConfigValues.formatNanos(tickIntervalNanos),
                        "must be positive and at most half the heartbeat interval ("
                                + ConfigValues.formatNanos(heartbeatIntervalNanos) + ")");
            }
            if (handshakeTimeoutNanos <= 0) {
                throw new ConfigException("link.handshake-timeout", ConfigValues.formatNanos(handshakeTimeoutNanos),
                        "must be positive");
            }
            if (reconnectIntervalNanos <= 0) {
                throw new ConfigException("link.reconnect-interval", ConfigValues.formatNanos(reconnectIntervalNanos),
                        "must be positive");
            }
            // The data channel carries replicated writes of up to 4 MiB in one frame.
            int minimumFrame = io.avance.core.wire.FrameType.Limits.DATA + io.avance.core.wire.FrameFormat.HEADER_BYTES;
            if (maxFrameBytes < minimumFrame || maxFrameBytes > 64 << 20) {
                throw new ConfigException("link.max-frame-size", String.valueOf(maxFrameBytes),
                        "must be from " + minimumFrame + " bytes (a 4 MiB replicated write and its headers) to 64MiB");
            }
            Set<String> volumeNames = new HashSet<>();
            for (VolumeConfig volume : volumes) {
                if (!volumeNames.add(volume.spec().name())) {
                    throw new ConfigException("volume." + volume.spec().name(), volume.spec().name(), "volume named twice");
                }
            }
            if (replicationAckTimeoutNanos < java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100)) {
                throw new ConfigException("replication.ack-timeout", ConfigValues.formatNanos(replicationAckTimeoutNanos),
                        "must be at least 100ms");
            }
            if (resyncRateBytesPerSecond < 0) {
                throw new ConfigException("replication.resync-rate", String.valueOf(resyncRateBytesPerSecond),
                        "must be 0 (unlimited) or a positive rate");
            }
            return new NodeConfig(this, id, peer, timings);
        }

        private String describeTimings() {
            return "heartbeat-interval=" + ConfigValues.formatNanos(heartbeatIntervalNanos)
                    + " detection-minimum=" + ConfigValues.formatNanos(detectionMinimumNanos)
                    + " detection-maximum=" + ConfigValues.formatNanos(detectionMaximumNanos)
                    + " safety-margin=" + ConfigValues.formatNanos(safetyMarginNanos);
        }

        private static NodeId nodeId(String key, String value) {
            if (value == null) {
                throw new ConfigException(key, "", "required");
            }
            try {
                return NodeId.of(value);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, value, e.getMessage());
            }
        }
    }
}
