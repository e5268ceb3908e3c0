package io.avance.core.link;

import io.avance.api.NodeId;
import io.avance.core.wire.Frame;
import io.avance.core.wire.FrameDecoder;
import io.avance.core.wire.Message;
import io.avance.core.wire.Messages;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.AttributeKey;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The private link to the peer: one authenticated TCP connection.
 *
 * <p>Both nodes listen; the node with the smaller id dials (so that exactly one connection is
 * made), every {@code reconnectInterval} while there is no session. A newly authenticated
 * connection replaces the current one (after a peer restart the old one may be half dead).
 * Unauthenticated connections are capped, so that a flood of them cannot exhaust the node.
 *
 * <p>Thread-safe: {@link #send} may be called from any thread. Listener callbacks come on the
 * Netty event loop.
 */
public final class PrivateLink implements AutoCloseable {

    private static final Logger LOG = System.getLogger(PrivateLink.class.getName());
    private static final int MAX_PENDING_HANDSHAKES = 8;
    private static final AttributeKey<Boolean> AUTHENTICATED = AttributeKey.valueOf("avance.authenticated");

    private final NodeId self;
    private final NodeId peer;
    private final InetSocketAddress listen;
    private final InetSocketAddress peerAddress;
    private final PairingKey key;
    private final long incarnation;
    private final long handshakeTimeoutNanos;
    private final long reconnectIntervalNanos;
    private final int maxFrameBytes;
    private final EventLoopGroup group;
    private final LinkListener listener;
    private final boolean dialer;
    private final AtomicInteger pendingHandshakes = new AtomicInteger();

    private volatile Channel session;
    private volatile Channel server;
    private volatile boolean closed;
    private volatile boolean connecting;

    /**
     * Creates the link; nothing happens until {@link #start()}.
     *
     * @param self                   this node
     * @param peer                   the peer
     * @param listen                 where to accept connections
     * @param peerAddress            where to dial the peer
     * @param key                    the pairing key
     * @param incarnation            this node's incarnation
     * @param handshakeTimeoutNanos  how long a handshake may take
     * @param reconnectIntervalNanos how long to wait between dials
     * @param maxFrameBytes          the largest frame accepted
     * @param group                  the event loops
     * @param listener               who hears about sessions and messages
     */
    public PrivateLink(NodeId self, NodeId peer, InetSocketAddress listen, InetSocketAddress peerAddress,
                       PairingKey key, long incarnation, long handshakeTimeoutNanos, long reconnectIntervalNanos,
                       int maxFrameBytes, EventLoopGroup group, LinkListener listener) {
        this.self = Objects.requireNonNull(self);
        this.peer = Objects.requireNonNull(peer);
        this.listen = Objects.requireNonNull(listen);
        this.peerAddress = Objects.requireNonNull(peerAddress);
        this.key = Objects.requireNonNull(key);
        this.incarnation = incarnation;
        this.handshakeTimeoutNanos = handshakeTimeoutNanos;
        this.reconnectIntervalNanos = reconnectIntervalNanos;
        this.maxFrameBytes = maxFrameBytes;
        this.group = Objects.requireNonNull(group);
        this.listener = Objects.requireNonNull(listener);
        this.dialer = self.compareTo(peer) < 0;
    }

    /**
     * Binds the listening socket and, on the dialing side, starts dialing.
     *
     * @throws IllegalStateException if the address cannot be bound
     */
    public void start() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        if (pendingHandshakes.incrementAndGet() > MAX_PENDING_HANDSHAKES) {
                            pendingHandshakes.decrementAndGet();
                            LOG.log(Level.WARNING, "private link: too many connections mid-handshake; refusing {0}",
                                    channel.remoteAddress());
                            channel.close();
                            return;
                        }
                        configure(channel, PairingKey.Side.ACCEPTOR);
                    }
                });
        InetSocketAddress bindAddress = resolve(listen);
        ChannelFuture bound = bootstrap.bind(bindAddress).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IllegalStateException("cannot listen for the private link on " + bindAddress + ": "
                    + bound.cause().getMessage(), bound.cause());
        }
        server = bound.channel();
        LOG.log(Level.INFO, "{0}: private link listening on {1}; {2}", self, server.localAddress(),
                dialer ? "dialing " + peer + " at " + peerAddress : "waiting for " + peer + " to dial");
        if (dialer) {
            group.next().execute(this::dial);
        }
    }

    /**
     * The address the link listens on, once started.
     *
     * @return the bound address
     */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * Sends a message on the open session.
     *
     * @param message the message
     * @return false if there is no session, or its send buffer is full
     */
    public boolean send(Message message) {
        Channel channel = session;
        if (channel == null || !channel.isActive()) {
            return false;
        }
        if (!channel.isWritable() && message instanceof Message.Heartbeat) {
            return false;
        }
        channel.writeAndFlush(message).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        return true;
    }

    /**
     * Tells whether a session is open.
     *
     * @return true if authenticated and connected
     */
    public boolean connected() {
        Channel channel = session;
        return channel != null && channel.isActive();
    }

    private void dial() {
        if (closed || connected() || connecting) {
            scheduleDial();
            return;
        }
        connecting = true;
        new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.max(100, TimeUnit.NANOSECONDS.toMillis(handshakeTimeoutNanos)))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        pendingHandshakes.incrementAndGet();
                        configure(channel, PairingKey.Side.DIALER);
                    }
                })
                .connect(resolve(peerAddress))
                .addListener((ChannelFuture future) -> {
                    if (!future.isSuccess()) {
                        connecting = false;
                        LOG.log(Level.DEBUG, "{0}: cannot reach {1} at {2}: {3}", self, peer, peerAddress,
                                future.cause().getMessage());
                        scheduleDial();
                    } else {
                        future.channel().closeFuture().addListener(closedFuture -> {
                            connecting = false;
                            scheduleDial();
                        });
                    }
                });
    }

    private void scheduleDial() {
        if (!closed && dialer) {
            group.next().schedule(this::dial, reconnectIntervalNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void configure(SocketChannel channel, PairingKey.Side side) {
        channel.pipeline()
                .addLast("frames", new FrameDecoder(maxFrameBytes))
                .addLast("encoder", MessageEncoder.INSTANCE)
                .addLast("handshake", new HandshakeHandler(side, self, peer, key, incarnation, handshakeTimeoutNanos))
                .addLast("session", new SessionHandler(side));
        channel.closeFuture().addListener(future -> onClosed(channel));
    }

    private void onClosed(Channel channel) {
        if (!Boolean.TRUE.equals(channel.attr(AUTHENTICATED).get())) {
            pendingHandshakes.decrementAndGet();
        }
        if (session == channel) {
            session = null;
            listener.onSessionDown("connection closed");
        }
    }

    /**
     * Turns frames into messages for the listener, once the handshake has opened the session.
     */
    private final class SessionHandler extends ChannelInboundHandlerAdapter {
        private final PairingKey.Side side;

        SessionHandler(PairingKey.Side side) {
            this.side = side;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext context, Object event) {
            if (event instanceof HandshakeHandler.Established established) {
                context.channel().attr(AUTHENTICATED).set(true);
                pendingHandshakes.decrementAndGet();
                Channel previous = session;
                session = context.channel();
                if (previous != null && previous != context.channel()) {
                    LOG.log(Level.INFO, "{0}: a new private link session replaces the old one", self);
                    previous.close();
                }
                LOG.log(Level.INFO, "{0}: private link {1} {2} authenticated (protocol {3})", self,
                        HandshakeHandler.describe(side), context.channel().remoteAddress(), established.protocol());
                listener.onSessionUp(established.peerIncarnation());
            } else {
                context.fireUserEventTriggered(event);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            Frame frame = (Frame) message;
            Message decoded;
            try {
                decoded = Messages.decode(frame);
            } finally {
                frame.release();
            }
            if (session == context.channel()) {
                listener.onMessage(decoded);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            LOG.log(Level.WARNING, "private link {0} {1}: closing the connection: {2}", HandshakeHandler.describe(side),
                    context.channel().remoteAddress(), HandshakeHandler.describeCause(cause));
            context.close();
        }
    }

    static InetSocketAddress resolve(InetSocketAddress address) {
        return address.isUnresolved() ? new InetSocketAddress(address.getHostString(), address.getPort()) : address;
    }

    @Override
    public void close() {
        closed = true;
        Channel channel = session;
        if (channel != null) {
            channel.close().awaitUninterruptibly();
        }
        Channel listening = server;
        if (listening != null) {
            listening.close().awaitUninterruptibly();
        }
    }
}
