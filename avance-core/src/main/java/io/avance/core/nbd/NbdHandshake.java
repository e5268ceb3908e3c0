package io.avance.core.nbd;

import static io.avance.core.nbd.NbdProtocol.BASE_ALLOCATION;
import static io.avance.core.nbd.NbdProtocol.BASE_ALLOCATION_ID;

import io.avance.core.replication.ReplicatedVolume;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The handshake phase of one NBD connection: the fixed newstyle greeting, then option haggling
 * until the client picks an export with {@code NBD_OPT_GO} or {@code NBD_OPT_EXPORT_NAME}. Then
 * this handler hands the connection to an {@link NbdTransmission}.
 *
 * <p>Options answered: {@code EXPORT_NAME}, {@code ABORT}, {@code LIST}, {@code INFO},
 * {@code GO}, {@code STRUCTURED_REPLY}, {@code LIST_META_CONTEXT} and {@code SET_META_CONTEXT};
 * any other gets {@code NBD_REP_ERR_UNSUP}. A node that may not serve (the backup) answers
 * {@code INFO} and {@code GO} with {@code NBD_REP_ERR_POLICY} and a message naming the primary.
 * A client that breaks a MUST of the spec (bad magic, unknown client flags) is disconnected.
 *
 * <p>Runs on the connection's event loop only.
 */
final class NbdHandshake extends ByteToMessageDecoder {

    private static final Logger LOG = System.getLogger(NbdHandshake.class.getName());

    private enum Phase { CLIENT_FLAGS, OPTION_HEADER, OPTION_DATA, SKIP, DONE }

    private final NbdServer server;
    private Phase phase = Phase.CLIENT_FLAGS;
    private boolean noZeroes;
    private boolean structured;
    private String metaExport;
    private boolean metaSelected;
    private int option;
    private int optionLength;
    private long skipRemaining;

    NbdHandshake(NbdServer server) {
        this.server = server;
    }

    @Override
    public void channelActive(ChannelHandlerContext context) throws Exception {
        ByteBuf greeting = context.alloc().buffer(18);
        greeting.writeLong(NbdProtocol.NBDMAGIC).writeLong(NbdProtocol.IHAVEOPT)
                .writeShort(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES);
        context.writeAndFlush(greeting);
        super.channelActive(context);
    }

    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) {
        while (phase != Phase.DONE && context.channel().isActive()) {
            switch (phase) {
                case CLIENT_FLAGS -> {
                    if (in.readableBytes() < 4) {
                        return;
                    }
                    int flags = in.readInt();
                    if ((flags & ~(NbdProtocol.CLIENT_FIXED_NEWSTYLE | NbdProtocol.CLIENT_NO_ZEROES)) != 0) {
                        hangUp(context, "unknown client flags 0x" + Integer.toHexString(flags));
                        return;
                    }
                    noZeroes = (flags & NbdProtocol.CLIENT_NO_ZEROES) != 0;
                    phase = Phase.OPTION_HEADER;
                }
                case OPTION_HEADER -> {
                    if (in.readableBytes() < 16) {
                        return;
                    }
                    long magic = in.readLong();
                    if (magic != NbdProtocol.IHAVEOPT) {
                        hangUp(context, "bad option magic 0x" + Long.toHexString(magic));
                        return;
                    }
                    option = in.readInt();
                    long length = in.readUnsignedInt();
                    if (length > NbdProtocol.MAX_OPTION_DATA) {
                        skipRemaining = length;
                        phase = Phase.SKIP;
                    } else {
                        optionLength = (int) length;
                        phase = Phase.OPTION_DATA;
                    }
                }
                case OPTION_DATA -> {
                    if (in.readableBytes() < optionLength) {
                        return;
                    }
                    ByteBuf data = in.readSlice(optionLength);
                    phase = Phase.OPTION_HEADER;
                    handleOption(context, data);
                }
                case SKIP -> {
                    int skip = (int) Math.min(in.readableBytes(), skipRemaining);
                    in.skipBytes(skip);
                    skipRemaining -= skip;
                    if (skipRemaining > 0) {
                        return;
                    }
                    phase = Phase.OPTION_HEADER;
                    if (option == NbdProtocol.OPT_EXPORT_NAME) {
                        hangUp(context, "export name too long");
                        return;
                    }
                    error(context, NbdProtocol.REP_ERR_TOO_BIG, "option data longer than "
                            + NbdProtocol.MAX_OPTION_DATA + " bytes");
                }
                default -> {
                    return;
                }
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext context) throws Exception {
        context.flush();
        super.channelReadComplete(context);
    }

    private void handleOption(ChannelHandlerContext context, ByteBuf data) {
        server.metrics().option(option);
        switch (option) {
            case NbdProtocol.OPT_EXPORT_NAME -> exportName(context, data);
            case NbdProtocol.OPT_ABORT -> {
                reply(context, NbdProtocol.REP_ACK, null);
                phase = Phase.DONE;
                context.writeAndFlush(context.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
            }
            case NbdProtocol.OPT_LIST -> {
                if (data.isReadable()) {
                    error(context, NbdProtocol.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
                    return;
                }
                for (String name : server.exports().names()) {
                    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
                    ByteBuf body = context.alloc().buffer(4 + bytes.length);
                    body.writeInt(bytes.length).writeBytes(bytes);
                    reply(context, NbdProtocol.REP_SERVER, body);
                }
                reply(context, NbdProtocol.REP_ACK, null);
            }
            case NbdProtocol.OPT_INFO, NbdProtocol.OPT_GO -> infoOrGo(context, data, option == NbdProtocol.OPT_GO);
            case NbdProtocol.OPT_STRUCTURED_REPLY -> {
                if (data.isReadable()) {
                    error(context, NbdProtocol.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                } else if (structured) {
                    error(context, NbdProtocol.REP_ERR_INVALID, "structured replies are already negotiated");
                } else {
                    structured = true;
                    reply(context, NbdProtocol.REP_ACK, null);
                }
            }
            case NbdProtocol.OPT_LIST_META_CONTEXT -> metaContext(context, data, false);
            case NbdProtocol.OPT_SET_META_CONTEXT -> metaContext(context, data, true);
            default -> error(context, NbdProtocol.REP_ERR_UNSUP, "option " + option + " is not supported by "
                    + "this server");
        }
    }

    /** The old way in: no error can be sent back, so a refusal hangs up, as the spec requires. */
    private void exportName(ChannelHandlerContext context, ByteBuf data) {
        String name = data.toString(StandardCharsets.UTF_8);
        Resolved resolved = resolve(name);
        if (resolved.volume == null) {
            hangUp(context, "NBD_OPT_EXPORT_NAME '" + name + "': " + resolved.message);
            return;
        }
        ByteBuf body = context.alloc().buffer(noZeroes ? 10 : 134);
        body.writeLong(resolved.volume.sizeBytes()).writeShort(transmissionFlags());
        if (!noZeroes) {
            body.writeZero(124);
        }
        context.write(body);
        enterTransmission(context, resolved.volume, resolved.name);
    }

    private void infoOrGo(ChannelHandlerContext context, ByteBuf data, boolean go) {
        if (data.readableBytes() < 6) {
            error(context, NbdProtocol.REP_ERR_INVALID, "option data too short");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2 || nameLength > NbdProtocol.MAX_STRING) {
            error(context, NbdProtocol.REP_ERR_INVALID, "export name length " + nameLength + " is invalid");
            return;
        }
        String name = data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int count = data.readUnsignedShort();
        if (data.readableBytes() != 2 * count) {
            error(context, NbdProtocol.REP_ERR_INVALID, "information request list does not match the option length");
            return;
        }
        Set<Integer> requests = new LinkedHashSet<>();
        for (int i = 0; i < count; i++) {
            requests.add(data.readUnsignedShort());
        }
        Resolved resolved = resolve(name);
        if (resolved.volume == null) {
            error(context, resolved.error, resolved.message);
            return;
        }
        ReplicatedVolume volume = resolved.volume;
        ByteBuf export = context.alloc().buffer(12);
        export.writeShort(NbdProtocol.INFO_EXPORT).writeLong(volume.sizeBytes()).writeShort(transmissionFlags());
        reply(context, NbdProtocol.REP_INFO, export);
        if (requests.contains(NbdProtocol.INFO_NAME)) {
            byte[] canonical = resolved.name.getBytes(StandardCharsets.UTF_8);
            ByteBuf body = context.alloc().buffer(2 + canonical.length);
            body.writeShort(NbdProtocol.INFO_NAME).writeBytes(canonical);
            reply(context, NbdProtocol.REP_INFO, body);
        }
        if (requests.contains(NbdProtocol.INFO_DESCRIPTION)) {
            byte[] description = ("Avance replicated volume " + resolved.name + " (" + volume.state() + ")")
                    .getBytes(StandardCharsets.UTF_8);
            ByteBuf body = context.alloc().buffer(2 + description.length);
            body.writeShort(NbdProtocol.INFO_DESCRIPTION).writeBytes(description);
            reply(context, NbdProtocol.REP_INFO, body);
        }
        // Always sent: the constraints are the spec's defaults, stated so that clients need not guess.
        ByteBuf sizes = context.alloc().buffer(14);
        sizes.writeShort(NbdProtocol.INFO_BLOCK_SIZE).writeInt(1).writeInt(NbdProtocol.PREFERRED_BLOCK)
                .writeInt(NbdProtocol.MAX_PAYLOAD);
        reply(context, NbdProtocol.REP_INFO, sizes);
        reply(context, NbdProtocol.REP_ACK, null);
        if (go) {
            enterTransmission(context, volume, resolved.name);
        }
    }

    private void metaContext(ChannelHandlerContext context, ByteBuf data, boolean select) {
        if (select) {
            // Setting replaces the earlier selection, even when it fails.
            metaSelected = false;
            metaExport = null;
        }
        if (!structured) {
            error(context, NbdProtocol.REP_ERR_INVALID, "negotiate structured replies first");
            return;
        }
        if (data.readableBytes() < 4) {
            error(context, NbdProtocol.REP_ERR_INVALID, "option data too short");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 4L || nameLength > NbdProtocol.MAX_STRING) {
            error(context, NbdProtocol.REP_ERR_INVALID, "export name length " + nameLength + " is invalid");
            return;
        }
        String name = data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        long queries = data.readUnsignedInt();
        Set<String> matched = new LinkedHashSet<>();
        for (long i = 0; i < queries; i++) {
            if (data.readableBytes() < 4) {
                error(context, NbdProtocol.REP_ERR_INVALID, "query " + i + " is truncated");
                return;
            }
            long length = data.readUnsignedInt();
            if (length > data.readableBytes() || length > NbdProtocol.MAX_STRING) {
                error(context, NbdProtocol.REP_ERR_INVALID, "query " + i + " length " + length + " is invalid");
                return;
            }
            String query = data.readCharSequence((int) length, StandardCharsets.UTF_8).toString();
            if (query.equals(BASE_ALLOCATION) || (!select && query.equals("base:"))) {
                matched.add(BASE_ALLOCATION);
            }
        }
        if (data.isReadable()) {
            error(context, NbdProtocol.REP_ERR_INVALID, "trailing bytes after the queries");
            return;
        }
        if (queries == 0 && !select) {
            matched.add(BASE_ALLOCATION);
        }
        Resolved resolved = resolve(name);
        if (resolved.volume == null && resolved.error == NbdProtocol.REP_ERR_UNKNOWN) {
            error(context, resolved.error, resolved.message);
            return;
        }
        for (String context0 : matched) {
            byte[] bytes = context0.getBytes(StandardCharsets.UTF_8);
            ByteBuf body = context.alloc().buffer(4 + bytes.length);
            body.writeInt(select ? BASE_ALLOCATION_ID : 0).writeBytes(bytes);
            reply(context, NbdProtocol.REP_META_CONTEXT, body);
        }
        if (select && !matched.isEmpty()) {
            metaSelected = true;
            metaExport = name;
        }
        reply(context, NbdProtocol.REP_ACK, null);
    }

    private record Resolved(String name, ReplicatedVolume volume, int error, String message) {
    }

    private Resolved resolve(String requested) {
        NbdExports exports = server.exports();
        String name = requested;
        if (name.isEmpty()) {
            List<String> names = exports.names();
            if (names.size() != 1) {
                return new Resolved(name, null, NbdProtocol.REP_ERR_UNKNOWN, "no default export: name one of "
                        + names);
            }
            name = names.get(0);
        }
        Optional<ReplicatedVolume> volume = exports.volume(name);
        if (volume.isEmpty()) {
            return new Resolved(name, null, NbdProtocol.REP_ERR_UNKNOWN, "no export named '" + name
                    + "'; exports: " + exports.names());
        }
        if (server.closing()) {
            return new Resolved(name, null, NbdProtocol.REP_ERR_SHUTDOWN, "the server is shutting down");
        }
        if (!exports.mayServe() && !exports.mayReadCopy(name)) {
            return new Resolved(name, null, NbdProtocol.REP_ERR_POLICY, exports.notServingReason());
        }
        return new Resolved(name, volume.get(), 0, "");
    }

    private int transmissionFlags() {
        return NbdProtocol.TFLAG_HAS_FLAGS | NbdProtocol.TFLAG_SEND_FLUSH | NbdProtocol.TFLAG_SEND_FUA
                | NbdProtocol.TFLAG_SEND_TRIM | NbdProtocol.TFLAG_SEND_WRITE_ZEROES | NbdProtocol.TFLAG_CAN_MULTI_CONN
                | (structured ? NbdProtocol.TFLAG_SEND_DF : 0);
    }

    private void enterTransmission(ChannelHandlerContext context, ReplicatedVolume volume, String name) {
        phase = Phase.DONE;
        boolean allocation = metaSelected && name.equals(metaExport);
        LOG.log(Level.INFO, "NBD client {0} uses export {1} (structured replies {2}, block status {3})",
                context.channel().remoteAddress(), name, structured, allocation);
        server.transmissionStarted(context.channel());
        context.pipeline().replace(this, "nbd-transmission",
                new NbdTransmission(server, volume, name, structured, allocation));
    }

    private void reply(ChannelHandlerContext context, int type, ByteBuf body) {
        int length = body == null ? 0 : body.readableBytes();
        ByteBuf header = context.alloc().buffer(20);
        header.writeLong(NbdProtocol.REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
        context.write(header);
        if (body != null) {
            context.write(body);
        }
    }

    private void error(ChannelHandlerContext context, int type, String message) {
        server.metrics().optionRefused(type);
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, NbdProtocol.MAX_STRING);
        ByteBuf body = context.alloc().buffer(length);
        body.writeBytes(bytes, 0, length);
        reply(context, type, body);
    }

    private void hangUp(ChannelHandlerContext context, String why) {
        phase = Phase.DONE;
        LOG.log(Level.WARNING, "NBD client {0}: {1}; disconnecting", context.channel().remoteAddress(), why);
        server.metrics().protocolError();
        context.writeAndFlush(context.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
    }
}
