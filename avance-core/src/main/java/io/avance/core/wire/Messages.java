package io.avance.core.wire;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.DataState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Encodes and decodes the pair protocol's messages.
 *
 * <p>Enumerations travel as explicit codes listed here (and in {@code docs/protocol.md}), never
 * as Java ordinals, so that reordering an API enum cannot change the wire format.
 */
public final class Messages {

    /** Wire codes of {@link PairRole}: the index is the code. */
    static final PairRole[] ROLES = {PairRole.UNDECIDED, PairRole.PRIMARY, PairRole.BACKUP, PairRole.ISOLATED,
        PairRole.STOPPED};
    /** Wire codes of {@link DataState}. */
    static final DataState[] DATA_STATES = {DataState.UP_TO_DATE, DataState.CONSISTENT, DataState.OUTDATED,
        DataState.INCONSISTENT, DataState.FAILED};
    /** Wire codes of {@link Component}. */
    static final Component[] COMPONENTS = {Component.DISK, Component.FAN, Component.POWER_SUPPLY,
        Component.PUBLIC_NETWORK, Component.PRIVATE_LINK, Component.CPU, Component.MEMORY, Component.HYPERVISOR,
        Component.VM};
    /** Wire codes of {@link Severity}. */
    static final Severity[] SEVERITIES = {Severity.MINOR, Severity.MAJOR, Severity.CRITICAL};

    /** Longest fault description on the wire, in UTF-8 bytes; longer ones are cut. */
    static final int FAULT_DESCRIPTION_BYTES = 120;

    private Messages() {
    }

    /**
     * Encodes a message's payload.
     *
     * @param message   the message
     * @param allocator where the buffer comes from
     * @return a new buffer that the caller owns
     */
    public static ByteBuf encode(Message message, ByteBufAllocator allocator) {
        ByteBuf out = allocator.buffer(64);
        try {
            encode(message, out);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /**
     * Encodes a message's payload into a buffer.
     *
     * @param message the message
     * @param out     where the payload goes
     */
    public static void encode(Message message, ByteBuf out) {
        WireWriter w = new WireWriter(out);
        if (message instanceof Message.Hello m) {
            w.u8(m.channel()).u16(m.minProtocol()).u16(m.maxProtocol()).str8(m.sender().value())
                    .str8(m.expectedPeer().value()).bytes(m.nonce()).u64(m.incarnation());
        } else if (message instanceof Message.Auth m) {
            w.bytes(m.mac());
        } else if (message instanceof Message.Ready m) {
            w.u16(m.protocol());
        } else if (message instanceof Message.Heartbeat m) {
            w.str8(m.sender().value()).u64(m.incarnation()).u64(m.seq()).u64(m.echoIncarnation()).u64(m.echoSeq())
                    .u64(m.epoch()).str8(m.epochPrimary().map(NodeId::value).orElse(""))
                    .u8(code(ROLES, m.role())).u8(code(DATA_STATES, m.data()))
                    .u8((m.maintenance() ? 1 : 0) | (m.peerDeclaredDown() ? 2 : 0) | (m.degraded() ? 4 : 0));
            w.u8(m.publicNetworksUp().size());
            for (Map.Entry<String, Boolean> network : m.publicNetworksUp().entrySet()) {
                w.str8(network.getKey()).bool(network.getValue());
            }
            w.u8(m.faults().size());
            for (Fault fault : m.faults()) {
                w.u8(code(COMPONENTS, fault.component())).u8(code(SEVERITIES, fault.severity()))
                        .bool(fault.predicted()).str8(fault.location())
                        .str16(fault.description(), FAULT_DESCRIPTION_BYTES);
            }
        } else if (message instanceof Message.PromoteRequest m) {
            w.u64(m.epoch()).str8(m.candidate().value());
        } else if (message instanceof Message.PromoteReply m) {
            w.u64(m.epoch()).bool(m.granted()).u64(m.floor()).str16(m.reason(), 400);
        } else if (message instanceof Message.Handover m) {
            w.u64(m.epoch()).str8(m.newPrimary().value()).u64(m.echoIncarnation()).u64(m.echoSeq());
        } else if (message instanceof Message.RebootRequest m) {
            w.u64(m.epoch()).u64(m.requestId()).u64(m.target()).str16(m.reason(), 900);
        } else if (message instanceof Message.WitnessClaim m) {
            w.u64(m.requestId()).str8(m.node().value()).u64(m.epoch()).u64(m.leaseNanos());
        } else if (message instanceof Message.WitnessVerdict m) {
            w.u64(m.requestId()).bool(m.granted()).u64(m.epoch()).str8(m.holder().map(NodeId::value).orElse(""))
                    .u64(m.leaseNanos());
        } else if (message instanceof Message.VmCatalog m) {
            w.u64(m.version()).u16(m.hostCores()).u64(m.hostMemoryBytes()).bool(m.fromPrimary()).u16(m.entries().size());
            for (Message.CatalogEntry entry : m.entries()) {
                w.bool(entry.wanted()).str16(entry.spec(), Message.CatalogEntry.MAX_SPEC_BYTES);
            }
        } else {
            throw new IllegalArgumentException("no encoding for " + message);
        }
    }

    /**
     * Decodes a frame's message. Does not release the frame.
     *
     * @param frame the frame
     * @return the message
     * @throws ProtocolException if the payload is not a valid message of the frame's type
     */
    public static Message decode(Frame frame) {
        return decode(frame.type(), frame.payload().duplicate());
    }

    /**
     * Decodes a payload. Reads the buffer from its reader index; does not release it.
     *
     * @param type    the frame type
     * @param payload the payload
     * @return the message
     * @throws ProtocolException if the payload is not a valid message of that type
     */
    public static Message decode(FrameType type, ByteBuf payload) {
        WireReader r = new WireReader(payload, type.name());
        Message message = switch (type) {
            case HELLO -> new Message.Hello(r.u8("channel"), r.u16("minProtocol"), r.u16("maxProtocol"),
                    nodeId(r.str8("sender"), type), nodeId(r.str8("expectedPeer"), type),
                    r.bytes(Message.Hello.NONCE_BYTES, "nonce"), r.u64("incarnation"));
            case AUTH -> new Message.Auth(r.bytes(Message.Auth.MAC_BYTES, "mac"));
            case READY -> new Message.Ready(r.u16("protocol"));
            case HEARTBEAT -> heartbeat(r, type);
            case PROMOTE_REQUEST -> new Message.PromoteRequest(epoch(r.u64("epoch"), type),
                    nodeId(r.str8("candidate"), type));
            case PROMOTE_REPLY -> new Message.PromoteReply(epoch(r.u64("epoch"), type), r.bool("granted"),
                    epoch(r.u64("floor"), type), r.str16("reason", 400));
            case HANDOVER -> new Message.Handover(epoch(r.u64("epoch"), type), nodeId(r.str8("newPrimary"), type),
                    r.u64("echoIncarnation"), r.u64("echoSeq"));
            case REBOOT_REQUEST -> new Message.RebootRequest(epoch(r.u64("epoch"), type), r.u64("requestId"),
                    r.u64("target"), r.str16("reason", 900));
            case WITNESS_CLAIM -> new Message.WitnessClaim(r.u64("requestId"), nodeId(r.str8("node"), type),
                    epoch(r.u64("epoch"), type), epoch(r.u64("leaseNanos"), type));
            case WITNESS_ANSWER -> {
                long requestId = r.u64("requestId");
                boolean granted = r.bool("granted");
                long epoch = epoch(r.u64("epoch"), type);
                String holder = r.str8("holder");
                yield new Message.WitnessVerdict(requestId, granted, epoch,
                        holder.isEmpty() ? Optional.empty() : Optional.of(nodeId(holder, type)),
                        epoch(r.u64("leaseNanos"), type));
            }
            case VM_CATALOG -> {
                long version = r.u64("version");
                int cores = r.u16("hostCores");
                long memory = r.u64("hostMemoryBytes");
                boolean fromPrimary = r.bool("fromPrimary");
                int count = r.u16("count");
                if (count > Message.VmCatalog.MAX_ENTRIES) {
                    throw new ProtocolException(type + ": " + count + " VMs exceed " + Message.VmCatalog.MAX_ENTRIES);
                }
                List<Message.CatalogEntry> entries = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    entries.add(new Message.CatalogEntry(r.bool("wanted"),
                            r.str16("spec", Message.CatalogEntry.MAX_SPEC_BYTES)));
                }
                yield new Message.VmCatalog(version, cores, memory, fromPrimary, entries);
            }
            default -> throw new ProtocolException(type + " is a data-channel frame, not a control message");
        };
        r.end();
        return message;
    }

    private static Message.Heartbeat heartbeat(WireReader r, FrameType type) {
        NodeId sender = nodeId(r.str8("sender"), type);
        long incarnation = r.u64("incarnation");
        long seq = r.u64("seq");
        long echoIncarnation = r.u64("echoIncarnation");
        long echoSeq = r.u64("echoSeq");
        long epoch = epoch(r.u64("epoch"), type);
        String primary = r.str8("epochPrimary");
        PairRole role = decodeCode(ROLES, r.u8("role"), "role", type);
        DataState data = decodeCode(DATA_STATES, r.u8("data"), "data", type);
        int flags = r.u8("flags");
        if ((flags & ~7) != 0) {
            throw new ProtocolException(type + ": unknown heartbeat flags " + flags);
        }
        int networks = r.u8("networkCount");
        if (networks > Message.Heartbeat.MAX_NETWORKS) {
            throw new ProtocolException(type + ": " + networks + " networks exceeds " + Message.Heartbeat.MAX_NETWORKS);
        }
        Map<String, Boolean> up = new LinkedHashMap<>();
        for (int i = 0; i < networks; i++) {
            String name = r.str8("networkName");
            if (up.put(name, r.bool("networkUp")) != null) {
                throw new ProtocolException(type + ": network '" + name + "' listed twice");
            }
        }
        int faultCount = r.u8("faultCount");
        if (faultCount > Message.Heartbeat.MAX_FAULTS) {
            throw new ProtocolException(type + ": " + faultCount + " faults exceeds " + Message.Heartbeat.MAX_FAULTS);
        }
        List<Fault> faults = new ArrayList<>(faultCount);
        for (int i = 0; i < faultCount; i++) {
            Component component = decodeCode(COMPONENTS, r.u8("component"), "component", type);
            Severity severity = decodeCode(SEVERITIES, r.u8("severity"), "severity", type);
            boolean predicted = r.bool("predicted");
            String location = r.str8("location");
            String description = r.str16("description", FAULT_DESCRIPTION_BYTES);
            try {
                Fault fault = new Fault(component, location, severity, predicted, description);
                for (Fault earlier : faults) {
                    if (earlier.sameIdentity(fault)) {
                        throw new ProtocolException(type + ": fault " + component + " '" + location + "' listed twice");
                    }
                }
                faults.add(fault);
            } catch (IllegalArgumentException e) {
                throw new ProtocolException(type + ": bad fault: " + e.getMessage());
            }
        }
        Optional<NodeId> epochPrimary = primary.isEmpty() ? Optional.empty() : Optional.of(nodeId(primary, type));
        return new Message.Heartbeat(sender, incarnation, seq, echoIncarnation, echoSeq, epoch, epochPrimary, role,
                data, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, up, faults);
    }

    private static long epoch(long value, FrameType type) {
        if (value < 0) {
            throw new ProtocolException(type + ": epoch " + Long.toUnsignedString(value) + " out of range");
        }
        return value;
    }

    private static NodeId nodeId(String text, FrameType type) {
        try {
            return NodeId.of(text);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(type + ": " + e.getMessage());
        }
    }

    private static <E> int code(E[] table, E value) {
        for (int i = 0; i < table.length; i++) {
            if (table[i] == value) {
                return i;
            }
        }
        throw new IllegalArgumentException("no wire code for " + value);
    }

    private static <E> E decodeCode(E[] table, int code, String field, FrameType type) {
        if (code >= table.length) {
            throw new ProtocolException(type + ": unknown " + field + " code " + code);
        }
        return table[code];
    }
}
