package io.avance.core.wire;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.health.Fault;
import io.avance.api.replication.DataState;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A message of the pair protocol. Plain immutable records; {@link Messages} encodes and decodes
 * them.
 */
public sealed interface Message {

    /** @return the frame type that carries this message */
    FrameType type();

    /**
     * The first message on a connection, sent by both sides at once.
     *
     * @param channel      what the connection is for: 0 control
     * @param minProtocol  the oldest protocol version the sender speaks
     * @param maxProtocol  the newest protocol version the sender speaks
     * @param sender       the sender's node id
     * @param expectedPeer the node the sender believes it is talking to
     * @param nonce        32 random bytes, fresh for this connection
     * @param incarnation  a random number fixed for the life of the sender's process
     */
    record Hello(int channel, int minProtocol, int maxProtocol, NodeId sender, NodeId expectedPeer, byte[] nonce,
                 long incarnation) implements Message {
        /** Nonce length in bytes. */
        public static final int NONCE_BYTES = 32;

        /**
         * Validates the fields.
         */
        public Hello {
            Objects.requireNonNull(sender, "sender");
            Objects.requireNonNull(expectedPeer, "expectedPeer");
            if (nonce.length != NONCE_BYTES) {
                throw new IllegalArgumentException("nonce must be " + NONCE_BYTES + " bytes");
            }
            nonce = nonce.clone();
        }

        @Override
        public byte[] nonce() {
            return nonce.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.HELLO;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Hello that && channel == that.channel && minProtocol == that.minProtocol
                    && maxProtocol == that.maxProtocol && sender.equals(that.sender)
                    && expectedPeer.equals(that.expectedPeer) && Arrays.equals(nonce, that.nonce)
                    && incarnation == that.incarnation;
        }

        @Override
        public int hashCode() {
            return Objects.hash(channel, minProtocol, maxProtocol, sender, expectedPeer, Arrays.hashCode(nonce),
                    incarnation);
        }

        @Override
        public String toString() {
            return "Hello[" + sender + " to " + expectedPeer + ", channel " + channel + ", protocol " + minProtocol
                    + "-" + maxProtocol + "]";
        }
    }

    /**
     * Proof that the sender holds the pairing secret.
     *
     * @param mac HMAC-SHA256 over both hellos and the sender's side (see {@code PairingKey})
     */
    record Auth(byte[] mac) implements Message {
        /** MAC length in bytes. */
        public static final int MAC_BYTES = 32;

        /**
         * Validates the fields.
         */
        public Auth {
            if (mac.length != MAC_BYTES) {
                throw new IllegalArgumentException("mac must be " + MAC_BYTES + " bytes");
            }
            mac = mac.clone();
        }

        @Override
        public byte[] mac() {
            return mac.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.AUTH;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Auth that && Arrays.equals(mac, that.mac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(mac);
        }

        @Override
        public String toString() {
            return "Auth[...]";
        }
    }

    /**
     * The sender verified the receiver's proof; the session is open.
     *
     * @param protocol the protocol version the session speaks
     */
    record Ready(int protocol) implements Message {
        @Override
        public FrameType type() {
            return FrameType.READY;
        }
    }

    /**
     * Liveness and state, sent by each node on every path every heartbeat interval.
     *
     * @param sender           the sender
     * @param incarnation      the sender process's incarnation
     * @param seq              increases with every heartbeat the sender sends, on any path
     * @param echoIncarnation  the receiver incarnation that {@code echoSeq} refers to (0: none)
     * @param echoSeq          the highest {@code seq} the sender has received from the receiver
     * @param epoch            the latest epoch the sender knows
     * @param epochPrimary     the primary of that epoch, if chosen
     * @param role             the sender's role
     * @param data             the sender's data state
     * @param maintenance      the sender is in maintenance mode
     * @param peerDeclaredDown the sender has declared the receiver down
     * @param degraded         the sender is primary and has acknowledged writes that the receiver's
     *                         copy lacks: the receiver's data is outdated until it resyncs
     * @param publicNetworksUp the sender's own view of each public network, by name
     * @param faults           the sender's active faults (its health score is computed from them)
     */
    record Heartbeat(NodeId sender, long incarnation, long seq, long echoIncarnation, long echoSeq, long epoch,
                     Optional<NodeId> epochPrimary, PairRole role, DataState data, boolean maintenance,
                     boolean peerDeclaredDown, boolean degraded, Map<String, Boolean> publicNetworksUp,
                     List<Fault> faults)
            implements Message {
        /** The most faults a heartbeat carries. */
        public static final int MAX_FAULTS = 64;
        /** The most public networks a heartbeat describes. */
        public static final int MAX_NETWORKS = 16;

        /**
         * Validates and copies the fields.
         */
        public Heartbeat {
            Objects.requireNonNull(sender, "sender");
            Objects.requireNonNull(epochPrimary, "epochPrimary");
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(data, "data");
            publicNetworksUp = Map.copyOf(publicNetworksUp);
            faults = List.copyOf(faults);
            if (faults.size() > MAX_FAULTS || publicNetworksUp.size() > MAX_NETWORKS) {
                throw new IllegalArgumentException("too many faults or networks for one heartbeat");
            }
        }

        @Override
        public FrameType type() {
            return FrameType.HEARTBEAT;
        }
    }

    /**
     * A candidate asks the peer to promise it an epoch.
     *
     * @param epoch     the epoch asked for
     * @param candidate the node that would be primary in it
     */
    record PromoteRequest(long epoch, NodeId candidate) implements Message {
        @Override
        public FrameType type() {
            return FrameType.PROMOTE_REQUEST;
        }
    }

    /**
     * The answer to a promote request.
     *
     * @param epoch   the epoch asked for
     * @param granted true if the sender promised the epoch to the candidate (and persisted that)
     * @param floor   the lowest epoch the sender would promise (so a refused candidate can ask again
     *                above it)
     * @param reason  why not, if refused
     */
    record PromoteReply(long epoch, boolean granted, long floor, String reason) implements Message {
        @Override
        public FrameType type() {
            return FrameType.PROMOTE_REPLY;
        }
    }

    /**
     * The primary, having stopped serving, gives the next epoch to its backup.
     *
     * @param epoch           the new epoch
     * @param newPrimary      the node that is primary in it (the receiver)
     * @param echoIncarnation the receiver incarnation that {@code echoSeq} refers to
     * @param echoSeq         the highest heartbeat sequence the sender had received from the
     *                        receiver: the receiver acts on the handover only if it sent that
     *                        heartbeat recently enough that the sender cannot have taken the
     *                        role back since
     */
    record Handover(long epoch, NodeId newPrimary, long echoIncarnation, long echoSeq) implements Message {
        @Override
        public FrameType type() {
            return FrameType.HANDOVER;
        }
    }

    /**
     * A claim (or renewal) of an epoch at the quorum witness.
     *
     * @param requestId  matches the answer to the claim
     * @param node       the claimant
     * @param epoch      the epoch claimed
     * @param leaseNanos how long the claimant asks to hold it
     */
    record WitnessClaim(long requestId, NodeId node, long epoch, long leaseNanos) implements Message {
        @Override
        public FrameType type() {
            return FrameType.WITNESS_CLAIM;
        }
    }

    /**
     * The quorum witness's answer to a claim.
     *
     * @param requestId  the claim's id
     * @param granted    whether the claimant now holds the epoch
     * @param epoch      the epoch the witness records
     * @param holder     its holder, if any
     * @param leaseNanos how long the grant lasts; 0 unless granted
     */
    record WitnessVerdict(long requestId, boolean granted, long epoch, Optional<NodeId> holder, long leaseNanos)
            implements Message {
        @Override
        public FrameType type() {
            return FrameType.WITNESS_ANSWER;
        }
    }

    /**
     * The primary asks its backup to reboot.
     *
     * @param epoch     the epoch the primary serves in
     * @param requestId identifies the request in both nodes' journals
     * @param target    the backup's incarnation to reboot: a replay reaching a later run is ignored
     * @param reason    why
     */
    record RebootRequest(long epoch, long requestId, long target, String reason) implements Message {
        @Override
        public FrameType type() {
            return FrameType.REBOOT_REQUEST;
        }
    }

    /**
     * The pair's VM catalog, sent by the primary to its backup whenever it changes and when a
     * session opens (the backup adopts it); and sent by either node to tell its host resources, for
     * admission control (a backup's entries are ignored).
     *
     * @param version         the catalog's version
     * @param hostCores       the sender's cores available to guests
     * @param hostMemoryBytes the sender's memory available to guests
     * @param fromPrimary     whether the sender is primary (only a primary's entries are adopted)
     * @param entries         the VMs
     */
    record VmCatalog(long version, int hostCores, long hostMemoryBytes, boolean fromPrimary,
                     List<CatalogEntry> entries) implements Message {
        /** The most VMs one catalog carries. */
        public static final int MAX_ENTRIES = 256;

        /**
         * Validates and copies the fields.
         */
        public VmCatalog {
            entries = List.copyOf(entries);
            if (entries.size() > MAX_ENTRIES) {
                throw new IllegalArgumentException("a catalog holds at most " + MAX_ENTRIES + " VMs");
            }
        }

        @Override
        public FrameType type() {
            return FrameType.VM_CATALOG;
        }
    }

    /**
     * One VM of a catalog.
     *
     * @param wanted whether it should run
     * @param spec   its definition, as text ({@code io.avance.core.vm.VmSpecCodec})
     */
    record CatalogEntry(boolean wanted, String spec) {
        /** The longest definition. */
        public static final int MAX_SPEC_BYTES = 16 * 1024;
    }
}
