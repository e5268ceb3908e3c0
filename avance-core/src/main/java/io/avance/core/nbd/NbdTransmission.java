package io.avance.core.nbd;

import io.avance.api.replication.VolumeException;
import io.avance.core.replication.ReplicatedVolume;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The transmission phase of one NBD connection: decodes requests and runs them on the volume,
 * many at once; replies go back as each completes, in any order, as the spec allows.
 *
 * <p>Every request is checked before it reaches the volume; a bad one gets the spec's error
 * and the connection carries on:
 * <ul>
 *   <li>beyond the export: {@code NBD_ENOSPC} for writes and write-zeroes, {@code NBD_EINVAL}
 *       for reads, trims and block status;</li>
 *   <li>a read or write over the maximum payload (32 MiB): {@code NBD_EOVERFLOW} for a
 *       structured read, {@code NBD_EINVAL} otherwise (a write's payload is read and dropped, so
 *       the stream stays in step);</li>
 *   <li>an unknown command, or a flag the command does not take: {@code NBD_EINVAL};</li>
 *   <li>the node is no longer primary: {@code NBD_ESHUTDOWN}, which tells the client to go.</li>
 * </ul>
 * A request with a bad magic number breaks the framing, so the connection is closed.
 *
 * <p>Back-pressure: past {@value #MAX_IN_FLIGHT} requests or {@value #MAX_IN_FLIGHT_BYTES} bytes
 * in flight, the connection stops reading until some complete. Runs on the connection's event
 * loop; completions hop back onto it.
 */
final class NbdTransmission extends ByteToMessageDecoder {

    private static final Logger LOG = System.getLogger(NbdTransmission.class.getName());
    static final int MAX_IN_FLIGHT = 256;
    static final long MAX_IN_FLIGHT_BYTES = 128L << 20;
    private static final int HEADER_BYTES = 28;
    /** The extent reported by one block status descriptor, at most: aligned and within 32 bits. */
    private static final long MAX_STATUS_EXTENT = 0xFFFF_F000L;

    private final NbdServer server;
    private final ReplicatedVolume volume;
    private final String exportName;
    private final boolean structured;
    private final boolean blockStatus;

    private boolean haveHeader;
    private int flags;
    private int type;
    private long cookie;
    private long offset;
    private long length;
    private long discardRemaining;
    private int inFlight;
    private long inFlightBytes;
    private boolean disconnecting;

    NbdTransmission(NbdServer server, ReplicatedVolume volume, String exportName, boolean structured,
                    boolean blockStatus) {
        this.server = server;
        this.volume = volume;
        this.exportName = exportName;
        this.structured = structured;
        this.blockStatus = blockStatus;
        // Write payloads are large: cumulate the socket's reads without copying them.
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) {
        while (context.channel().isActive() && !disconnecting) {
            if (discardRemaining > 0) {
                int skip = (int) Math.min(discardRemaining, in.readableBytes());
                in.skipBytes(skip);
                discardRemaining -= skip;
                if (discardRemaining > 0) {
                    return;
                }
                continue;
            }
            if (!haveHeader) {
                if (in.readableBytes() < HEADER_BYTES) {
                    return;
                }
                int magic = in.readInt();
                if (magic != NbdProtocol.REQUEST_MAGIC) {
                    LOG.log(Level.WARNING, "NBD client {0}: bad request magic 0x{1}; disconnecting",
                            context.channel().remoteAddress(), Integer.toHexString(magic));
                    server.metrics().protocolError();
                    in.skipBytes(in.readableBytes());
                    context.close();
                    return;
                }
                flags = in.readUnsignedShort();
                type = in.readUnsignedShort();
                cookie = in.readLong();
                offset = in.readLong();
                length = in.readUnsignedInt();
                haveHeader = true;
            }
            if (type == NbdProtocol.CMD_WRITE) {
                if (length > NbdProtocol.MAX_PAYLOAD) {
                    // Keep the stream in step: the payload is read and dropped, never buffered.
                    haveHeader = false;
                    discardRemaining = length;
                    fail(context, cookie, type, NbdProtocol.EINVAL, "write of " + length
                            + " bytes exceeds the maximum payload of " + NbdProtocol.MAX_PAYLOAD);
                    continue;
                }
                if (in.readableBytes() < length) {
                    return;
                }
                ByteBuf payload = in.readRetainedSlice((int) length);
                haveHeader = false;
                write(context, payload);
                continue;
            }
            haveHeader = false;
            dispatch(context);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext context) throws Exception {
        context.flush();
        super.channelReadComplete(context);
    }

    private void dispatch(ChannelHandlerContext context) {
        long request = cookie;
        switch (type) {
            case NbdProtocol.CMD_READ -> read(context, request);
            case NbdProtocol.CMD_DISC -> {
                disconnecting = true;
                context.channel().config().setAutoRead(false);
                closeIfIdle(context);
            }
            case NbdProtocol.CMD_FLUSH -> {
                if (!flagsAllowed(context, request, NbdProtocol.CMD_FLAG_FUA)) {
                    return;
                }
                if (offset != 0 || length != 0) {
                    fail(context, request, type, NbdProtocol.EINVAL, "flush takes no offset or length");
                    return;
                }
                run(context, request, type, 0, volume.flushAll());
            }
            case NbdProtocol.CMD_TRIM -> {
                if (!flagsAllowed(context, request, NbdProtocol.CMD_FLAG_FUA)
                        || !inRange(context, request, NbdProtocol.EINVAL)) {
                    return;
                }
                run(context, request, type, 0, volume.zeroes(offset, length,
                        (flags & NbdProtocol.CMD_FLAG_FUA) != 0, true));
            }
            case NbdProtocol.CMD_WRITE_ZEROES -> {
                if (!flagsAllowed(context, request, NbdProtocol.CMD_FLAG_FUA | NbdProtocol.CMD_FLAG_NO_HOLE)
                        || !inRange(context, request, NbdProtocol.ENOSPC)) {
                    return;
                }
                run(context, request, type, 0, volume.zeroes(offset, length,
                        (flags & NbdProtocol.CMD_FLAG_FUA) != 0, false));
            }
            case NbdProtocol.CMD_BLOCK_STATUS -> blockStatus(context, request);
            default -> fail(context, request, type, NbdProtocol.EINVAL, "unknown command " + type);
        }
    }

    private void read(ChannelHandlerContext context, long request) {
        int allowed = NbdProtocol.CMD_FLAG_FUA | (structured ? NbdProtocol.CMD_FLAG_DF : 0);
        if (!flagsAllowed(context, request, allowed) || !inRange(context, request, NbdProtocol.EINVAL)) {
            return;
        }
        if (length > NbdProtocol.MAX_PAYLOAD) {
            fail(context, request, type, structured ? NbdProtocol.EOVERFLOW : NbdProtocol.EINVAL, "read of "
                    + length + " bytes exceeds the maximum payload of " + NbdProtocol.MAX_PAYLOAD);
            return;
        }
        long from = offset;
        int size = (int) length;
        started(context, size);
        CompletableFuture<ByteBuf> reading = server.exports().mayServe() || !server.exports().mayReadCopy(exportName)
                ? volume.read(from, size, context.alloc())
                : volume.readCopy(from, size, context.alloc());
        reading.whenComplete((data, error) -> context.executor().execute(() -> {
            // The reply goes out before the request counts as finished: a disconnect waiting for
            // the last one closes the connection after it, never before.
            try {
                replyToRead(context, request, from, size, data, error);
            } finally {
                finished(context, size);
            }
        }));
    }

    private void replyToRead(ChannelHandlerContext context, long request, long from, int size, ByteBuf data,
                             Throwable error) {
        if (error != null) {
            failed(context, request, NbdProtocol.CMD_READ, error);
            return;
        }
        server.metrics().completed(NbdProtocol.CMD_READ, size);
        ByteBuf header;
        if (structured) {
            header = context.alloc().buffer(28);
            header.writeInt(NbdProtocol.STRUCTURED_REPLY_MAGIC).writeShort(NbdProtocol.REPLY_FLAG_DONE)
                    .writeShort(size == 0 ? NbdProtocol.REPLY_TYPE_NONE : NbdProtocol.REPLY_TYPE_OFFSET_DATA)
                    .writeLong(request).writeInt(size == 0 ? 0 : size + 8);
            if (size > 0) {
                header.writeLong(from);
            }
        } else {
            header = context.alloc().buffer(16);
            header.writeInt(NbdProtocol.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(request);
        }
        if (size == 0 && structured) {
            data.release();
            context.writeAndFlush(header);
        } else {
            context.writeAndFlush(Unpooled.wrappedBuffer(header, data));
        }
    }

    private void write(ChannelHandlerContext context, ByteBuf payload) {
        long request = cookie;
        if (!flagsAllowed(context, request, NbdProtocol.CMD_FLAG_FUA)
                || !inRange(context, request, NbdProtocol.ENOSPC)) {
            payload.release();
            return;
        }
        int size = payload.readableBytes();
        started(context, size);
        volume.write(offset, payload, (flags & NbdProtocol.CMD_FLAG_FUA) != 0)
                .whenComplete((ignored, error) -> context.executor().execute(() -> {
                    try {
                        if (error != null) {
                            failed(context, request, NbdProtocol.CMD_WRITE, error);
                        } else {
                            server.metrics().completed(NbdProtocol.CMD_WRITE, size);
                            succeed(context, request);
                        }
                    } finally {
                        finished(context, size);
                    }
                }));
    }

    private void blockStatus(ChannelHandlerContext context, long request) {
        if (!flagsAllowed(context, request, NbdProtocol.CMD_FLAG_FUA | NbdProtocol.CMD_FLAG_REQ_ONE)) {
            return;
        }
        if (!blockStatus) {
            fail(context, request, type, NbdProtocol.EINVAL, "no metadata context was selected for export "
                    + exportName);
            return;
        }
        if (length == 0) {
            fail(context, request, type, NbdProtocol.EINVAL, "block status of an empty range");
            return;
        }
        if (!inRange(context, request, NbdProtocol.EINVAL)) {
            return;
        }
        if (!server.exports().mayServe() && !server.exports().mayReadCopy(exportName)) {
            fail(context, request, type, NbdProtocol.ESHUTDOWN, server.exports().notServingReason());
            return;
        }
        // Status 0 ("allocated, contents unknown") is always correct; the volume does not track holes.
        long extent = Math.min(length, MAX_STATUS_EXTENT);
        ByteBuf reply = context.alloc().buffer(32);
        reply.writeInt(NbdProtocol.STRUCTURED_REPLY_MAGIC).writeShort(NbdProtocol.REPLY_FLAG_DONE)
                .writeShort(NbdProtocol.REPLY_TYPE_BLOCK_STATUS).writeLong(request).writeInt(12)
                .writeInt(NbdProtocol.BASE_ALLOCATION_ID).writeInt((int) extent).writeInt(0);
        server.metrics().completed(NbdProtocol.CMD_BLOCK_STATUS, 0);
        context.write(reply);
    }

    private void run(ChannelHandlerContext context, long request, int command, int bytes,
                     CompletableFuture<Void> operation) {
        started(context, bytes);
        operation.whenComplete((ignored, error) -> context.executor().execute(() -> {
            try {
                if (error != null) {
                    failed(context, request, command, error);
                } else {
                    server.metrics().completed(command, 0);
                    succeed(context, request);
                }
            } finally {
                finished(context, bytes);
            }
        }));
    }

    private boolean flagsAllowed(ChannelHandlerContext context, long request, int allowed) {
        if ((flags & ~allowed) != 0) {
            fail(context, request, type, NbdProtocol.EINVAL, "flags 0x" + Integer.toHexString(flags)
                    + " are not valid for " + NbdProtocol.commandName(type));
            return false;
        }
        return true;
    }

    private boolean inRange(ChannelHandlerContext context, long request, int error) {
        long size = volume.sizeBytes();
        // offset is unsigned on the wire: a negative long is beyond any export.
        if (offset < 0 || offset > size || length > size - offset) {
            fail(context, request, type, error, NbdProtocol.commandName(type) + " of " + length + " bytes at "
                    + Long.toUnsignedString(offset) + " is beyond the export's " + size + " bytes");
            return false;
        }
        return true;
    }

    private void started(ChannelHandlerContext context, long bytes) {
        inFlight++;
        inFlightBytes += bytes;
        if (inFlight >= MAX_IN_FLIGHT || inFlightBytes >= MAX_IN_FLIGHT_BYTES) {
            context.channel().config().setAutoRead(false);
        }
    }

    private void finished(ChannelHandlerContext context, long bytes) {
        inFlight--;
        inFlightBytes -= bytes;
        if (disconnecting) {
            closeIfIdle(context);
        } else if (inFlight < MAX_IN_FLIGHT / 2 && inFlightBytes < MAX_IN_FLIGHT_BYTES / 2
                && !context.channel().config().isAutoRead()) {
            context.channel().config().setAutoRead(true);
        }
    }

    private void closeIfIdle(ChannelHandlerContext context) {
        if (inFlight == 0) {
            context.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(future -> context.close());
        }
    }

    private void succeed(ChannelHandlerContext context, long request) {
        ByteBuf reply = context.alloc().buffer(16);
        reply.writeInt(NbdProtocol.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(request);
        context.writeAndFlush(reply);
    }

    private void failed(ChannelHandlerContext context, long request, int command, Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        int code = NbdProtocol.EIO;
        if (cause instanceof VolumeException volumeError) {
            code = switch (volumeError.reason()) {
                case NOT_SERVING -> NbdProtocol.ESHUTDOWN;
                case OUT_OF_RANGE, INVALID, NO_SUCH_VOLUME -> NbdProtocol.EINVAL;
                case IO_ERROR -> NbdProtocol.EIO;
            };
        } else {
            LOG.log(Level.WARNING, "NBD " + NbdProtocol.commandName(command) + " on export " + exportName + " failed",
                    cause);
        }
        fail(context, request, command, code, String.valueOf(cause.getMessage()));
        context.flush();
    }

    /** Replies with an error: a structured error chunk with the message when negotiated. */
    private void fail(ChannelHandlerContext context, long request, int command, int error, String message) {
        server.metrics().failed(command, error);
        Channel channel = context.channel();
        if (!channel.isActive()) {
            return;
        }
        ByteBuf reply;
        if (structured) {
            byte[] text = message.getBytes(StandardCharsets.UTF_8);
            int length = Math.min(text.length, NbdProtocol.MAX_STRING);
            reply = context.alloc().buffer(26 + length);
            reply.writeInt(NbdProtocol.STRUCTURED_REPLY_MAGIC).writeShort(NbdProtocol.REPLY_FLAG_DONE)
                    .writeShort(NbdProtocol.REPLY_TYPE_ERROR).writeLong(request).writeInt(6 + length)
                    .writeInt(error).writeShort(length).writeBytes(text, 0, length);
        } else {
            reply = context.alloc().buffer(16);
            reply.writeInt(NbdProtocol.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(request);
        }
        context.write(reply);
    }
}
