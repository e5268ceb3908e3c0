package io.avance.core.link;

import io.avance.api.NodeId;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.avance.core.wire.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

/**
 * The mutual handshake at the start of every private-link connection.
 *
 * <pre>
 *   dialer                                  acceptor
 *     | --HELLO(nonce D, ids, versions)------&gt; |   both send HELLO on connect
 *     | &lt;------HELLO(nonce A, ids, versions)-- |
 *     | --AUTH(proof D)----------------------&gt; |   each proves the secret over both HELLOs
 *     | &lt;----------------------AUTH(proof A)-- |
 *     | --READY(version)---------------------&gt; |   sent after checking the other's proof
 *     | &lt;---------------------READY(version)-- |
 *   session open on both sides once each has checked the proof AND received READY
 * </pre>
 *
 * <p>States: {@code AWAIT_HELLO -> AWAIT_AUTH -> AWAIT_READY -> OPEN}. Any other frame, a HELLO
 * from the wrong node, a wrong proof, a version mismatch or a timeout closes the connection with
 * a log line naming the remote address and the reason. On success the handler removes itself and
 * fires a {@link Established} event down the pipeline.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {

    /** The protocol versions this build speaks. */
    static final int MIN_PROTOCOL = 1;
    static final int MAX_PROTOCOL = 1;

    private static final System.Logger LOG = System.getLogger(HandshakeHandler.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The channel number an acceptor puts in its HELLO: "the one the dialer asks for". */
    static final int ANY_CHANNEL = 255;

    /**
     * Fired down the pipeline when the handshake succeeds.
     *
     * @param peerIncarnation the peer's incarnation
     * @param protocol        the version the session speaks
     * @param channel         what the connection is for: {@link PrivateLink#CONTROL} or {@link PrivateLink#DATA}
     */
    record Established(long peerIncarnation, int protocol, int channel) {
    }

    private enum State { AWAIT_HELLO, AWAIT_AUTH, AWAIT_READY, OPEN }

    private final PairingKey.Side side;
    private final NodeId self;
    private final NodeId peer;
    private final PairingKey key;
    private final long incarnation;
    private final long timeoutNanos;
    private final int channel;

    private State state = State.AWAIT_HELLO;
    private byte[] ownHello;
    private byte[] peerHelloBytes;
    private Message.Hello peerHello;
    private int protocol;
    private ScheduledFuture<?> timeout;

    HandshakeHandler(PairingKey.Side side, int channel, NodeId self, NodeId peer, PairingKey key, long incarnation,
                     long timeoutNanos) {
        this.side = side;
        this.channel = side == PairingKey.Side.DIALER ? channel : ANY_CHANNEL;
        this.self = self;
        this.peer = peer;
        this.key = key;
        this.incarnation = incarnation;
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    public void channelActive(ChannelHandlerContext context) {
        byte[] nonce = new byte[Message.Hello.NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        Message.Hello hello = new Message.Hello(channel, MIN_PROTOCOL, MAX_PROTOCOL, self, peer, nonce, incarnation);
        ByteBuf payload = Messages.encode(hello, context.alloc());
        try {
            ownHello = ByteBufUtil.getBytes(payload);
        } finally {
            payload.release();
        }
        context.writeAndFlush(hello);
        timeout = context.executor().schedule(() -> fail(context, "handshake not complete after "
                + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"), timeoutNanos, TimeUnit.NANOSECONDS);
        context.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) {
        if (state != State.OPEN) {
            cancelTimeout();
            LOG.log(System.Logger.Level.WARNING, "private link {0} {1}: connection closed during the handshake "
                    + "(in {2}); if this repeats, check that both nodes hold the same pairing secret and "
                    + "name each other as peer", describe(side), context.channel().remoteAddress(), state);
        }
        context.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object message) {
        if (!(message instanceof Frame frame)) {
            context.fireChannelRead(message);
            return;
        }
        byte[] payloadBytes;
        Message decoded;
        try {
            payloadBytes = frame.type() == FrameType.HELLO ? ByteBufUtil.getBytes(frame.payload()) : null;
            decoded = Messages.decode(frame);
        } finally {
            frame.release();
        }
        switch (state) {
            case AWAIT_HELLO -> onHello(context, decoded, payloadBytes);
            case AWAIT_AUTH -> onAuth(context, decoded);
            case AWAIT_READY -> onReady(context, decoded);
            case OPEN -> throw new IllegalStateException("handshake handler still in the pipeline after opening");
        }
    }

    private void onHello(ChannelHandlerContext context, Message message, byte[] payloadBytes) {
        if (!(message instanceof Message.Hello hello)) {
            throw new ProtocolException(message.type() + " before HELLO");
        }
        if (!hello.sender().equals(peer)) {
            fail(context, "it says it is node '" + hello.sender() + "', but this node's peer is '" + peer + "'");
            return;
        }
        if (!hello.expectedPeer().equals(self)) {
            fail(context, "it expected to reach node '" + hello.expectedPeer() + "', but this is '" + self + "'");
            return;
        }
        boolean known = side == PairingKey.Side.ACCEPTOR
                ? hello.channel() == PrivateLink.CONTROL || hello.channel() == PrivateLink.DATA
                        || hello.channel() == PrivateLink.MIGRATION
                : hello.channel() == ANY_CHANNEL;
        if (!known) {
            fail(context, "it asked for unknown channel " + hello.channel());
            return;
        }
        int chosen = Math.min(MAX_PROTOCOL, hello.maxProtocol());
        if (chosen < Math.max(MIN_PROTOCOL, hello.minProtocol())) {
            fail(context, "no common protocol version: it speaks " + hello.minProtocol() + "-" + hello.maxProtocol()
                    + ", this node " + MIN_PROTOCOL + "-" + MAX_PROTOCOL);
            return;
        }
        protocol = chosen;
        peerHello = hello;
        peerHelloBytes = payloadBytes;
        state = State.AWAIT_AUTH;
        context.writeAndFlush(new Message.Auth(key.linkProof(side, dialerHello(), acceptorHello())));
    }

    private void onAuth(ChannelHandlerContext context, Message message) {
        if (!(message instanceof Message.Auth auth)) {
            throw new ProtocolException(message.type() + " before AUTH");
        }
        PairingKey.Side peerSide = side == PairingKey.Side.DIALER ? PairingKey.Side.ACCEPTOR : PairingKey.Side.DIALER;
        if (!key.verifyLinkProof(peerSide, dialerHello(), acceptorHello(), auth.mac())) {
            fail(context, "it does not hold the pairing secret (its proof is wrong)");
            return;
        }
        state = State.AWAIT_READY;
        context.writeAndFlush(new Message.Ready(protocol));
    }

    private void onReady(ChannelHandlerContext context, Message message) {
        if (!(message instanceof Message.Ready ready)) {
            throw new ProtocolException(message.type() + " before READY");
        }
        if (ready.protocol() != protocol) {
            fail(context, "it chose protocol " + ready.protocol() + ", this node " + protocol);
            return;
        }
        state = State.OPEN;
        cancelTimeout();
        context.pipeline().remove(this);
        int agreed = side == PairingKey.Side.DIALER ? channel : peerHello.channel();
        context.fireUserEventTriggered(new Established(peerHello.incarnation(), protocol, agreed));
    }

    private byte[] dialerHello() {
        return side == PairingKey.Side.DIALER ? ownHello : peerHelloBytes;
    }

    private byte[] acceptorHello() {
        return side == PairingKey.Side.DIALER ? peerHelloBytes : ownHello;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
        fail(context, describeCause(cause));
    }

    private void fail(ChannelHandlerContext context, String reason) {
        if (!context.channel().isOpen()) {
            return;
        }
        cancelTimeout();
        LOG.log(System.Logger.Level.WARNING, "private link {0} {1}: refusing the connection: {2}", describe(side),
                context.channel().remoteAddress(), reason);
        state = State.OPEN;
        context.close();
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    static String describe(PairingKey.Side side) {
        return side == PairingKey.Side.DIALER ? "to" : "from";
    }

    static String describeCause(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root instanceof ProtocolException ? "protocol error: " + root.getMessage() : root.toString();
    }
}
