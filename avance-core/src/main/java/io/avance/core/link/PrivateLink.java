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
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The private link to the peer: up to three authenticated TCP connections, one for control
 * (heartbeats, elections, handovers), one for data (replication) and one for migration (guest
 * memory pages), so that bulk data never delays a heartbeat, and a migration's pages never delay
 * a replicated write.
 *
 * <p>Both nodes listen; the node with the smaller id dials each channel (so that exactly one
 * connection per channel is made), every {@code reconnectInterval} while it has no session on it.
 * A newly authenticated connection replaces the channel's current one (after a peer restart the
 * old one may be half dead). Unauthenticated connections are capped, so that a flood of them
 * cannot exhaust the node.
 *
 * <p>Thread-safe: {@link #send} may be called from any thread. Listener callbacks come on the
 * Netty event loop.
 */
public final class PrivateLink implements AutoCloseable {

    private static final Logger LOG = System.getLogger(PrivateLink.class.getName());
    /** The control channel's number. */
    public static final int CONTROL = 0;
    /** The data channel's number. */
    public static final int DATA = 1;
    /** The migration channel's number. */
    public static final int MIGRATION = 2;
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
    private final DataLinkListener dataListener;
    private final boolean dialer;
    private final AtomicInteger pendingHandshakes = new AtomicInteger();

    private final Channel[] sessions = new Channel[3];
    private final boolean[] connecting = new boolean[3];
    private volatile DataLinkListener migrationListener;
    private volatile Channel server;
    private volatile boolean closed;

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
     * @param listener               who hears about control sessions and messages
     * @param dataListener           who hears about the data channel, or null for no data channel
     */
    public PrivateLink(NodeId self, NodeId peer, InetSocketAddress listen, InetSocketAddress peerAddress,
                       PairingKey key, long incarnation, long handshakeTimeoutNanos, long reconnectIntervalNanos,
                       int maxFrameBytes, EventLoopGroup group, LinkListener listener, DataLinkListener dataListener) {
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
        this.dataListener = dataListener;
        this.dialer = self.compareTo(peer) < 0;
    }

    /**
     * Where this link accepts connections, once {@link #start()} has bound it (the port the kernel
     * chose, if the configuration said 0).
     *
     * @return the bound address
     * @throws IllegalStateException before {@link #start()}
     */
    public InetSocketAddress localAddress() {
        Channel bound = server;
        if (bound == null) {
            throw new IllegalStateException("the private link is not listening yet");
        }
        return (InetSocketAddress) bound.localAddress();
    }

    /**
     * Opens the migration channel too, for the migration engine; call before {@link #start()}.
     *
     * @param listener who hears about the migration channel
     */
    public void attachMigration(DataLinkListener listener) {
        this.migrationListener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Binds the listening socket and, on the dialing side, starts dialing.
     *
     * @throws IllegalStateException if the address cannot be bound
     */
    public void start() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channelFactory(ListeningChannel::new)
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
                        configure(channel, PairingKey.Side.ACCEPTOR, -1);
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
            group.next().execute(() -> dial(CONTROL));
            if (dataListener != null) {
                group.next().execute(() -> dial(DATA));
            }
            if (migrationListener != null) {
                group.next().execute(() -> dial(MIGRATION));
            }
        }
    }

    /**
     * Sends a message on the open session.
     *
     * @param message the message
     * @return false if there is no session, or its send buffer is full
     */
    public boolean send(Message message) {
        Channel channel = session(CONTROL);
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
        Channel channel = session(CONTROL);
        return channel != null && channel.isActive();
    }

    /**
     * Writes a complete frame on the data channel; the channel takes ownership of it.
     *
     * @param frame the frame
     * @return false if there is no data session (the frame is then released)
     */
    public boolean sendData(io.netty.buffer.ByteBuf frame) {
        return sendBulk(DATA, frame);
    }

    /**
     * Writes a complete frame on the migration channel; the channel takes ownership of it.
     *
     * @param frame the frame
     * @return false if there is no migration session (the frame is then released)
     */
    public boolean sendMigration(io.netty.buffer.ByteBuf frame) {
        return sendBulk(MIGRATION, frame);
    }

    /** @return whether the migration channel can take more without piling up in memory */
    public boolean migrationWritable() {
        Channel channel = session(MIGRATION);
        return channel != null && channel.isWritable();
    }

    /** @return whether a migration session is open */
    public boolean migrationConnected() {
        Channel channel = session(MIGRATION);
        return channel != null && channel.isActive();
    }

    /** @return the allocator of the migration channel (or the default one) */
    public io.netty.buffer.ByteBufAllocator migrationAllocator() {
        Channel channel = session(MIGRATION);
        return channel != null ? channel.alloc() : io.netty.buffer.ByteBufAllocator.DEFAULT;
    }

    private boolean sendBulk(int number, io.netty.buffer.ByteBuf frame) {
        Channel channel = session(number);
        if (channel == null || !channel.isActive()) {
            frame.release();
            return false;
        }
        // Writes from any thread become event-loop tasks, in order; one flush follows a burst of
        // them. The flush is queued from the event loop, after the write it must cover.
        try {
            channel.eventLoop().execute(() -> {
                channel.write(frame).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
                boolean[] flushQueued = channel.attr(FLUSH_QUEUED).get();
                if (!flushQueued[0]) {
                    flushQueued[0] = true;
                    channel.eventLoop().execute(() -> {
                        flushQueued[0] = false;
                        channel.flush();
                    });
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            frame.release();
            return false;
        }
        return true;
    }

    /**
     * Closes the data channel's session (the peer stopped acknowledging, or broke the data
     * protocol); the dialer connects again, and the volumes plan afresh.
     *
     * @param reason for the log
     */
    public void resetData(String reason) {
        Channel channel = session(DATA);
        if (channel != null && channel.isActive()) {
            LOG.log(Level.WARNING, "{0}: resetting the data channel to {1}: {2}", self, peer, reason);
            channel.close();
        }
    }

    /**
     * Drops every channel's session, whose peer has been judged silent: what the data and
     * migration channels hold unanswered fails at once instead of waiting for TCP to give up, and
     * the dialer dials every channel afresh. The control channel goes too: a silent connection may
     * be half open (the peer lost power and came back without it), and the peer's kernel resets it
     * only when a retransmission reaches it, minutes of backoff later, or never if something on the
     * way still holds it. A peer that merely paused is dialed again within
     * {@code link.reconnect-interval} of answering.
     *
     * @param reason why, for the log
     */
    public void resetSilentSessions(String reason) {
        for (int channelNumber : new int[] {CONTROL, DATA, MIGRATION}) {
            Channel channel = session(channelNumber);
            if (channel != null && channel.isActive()) {
                LOG.log(Level.WARNING, "{0}: resetting the {1} channel to {2}: {3}", self, channelName(channelNumber),
                        peer, reason);
                channel.close();
            }
        }
    }

    /** Whether a flush is queued on the channel's event loop; touched only there. */
    private static final AttributeKey<boolean[]> FLUSH_QUEUED = AttributeKey.valueOf("avance.flushQueued");

    /**
     * Tells whether the data channel can take more without piling up in memory.
     *
     * @return true if writable
     */
    public boolean dataWritable() {
        Channel channel = session(DATA);
        return channel != null && channel.isWritable();
    }

    /** @return the allocator of the data channel (or the default one) */
    public io.netty.buffer.ByteBufAllocator dataAllocator() {
        Channel channel = session(DATA);
        return channel != null ? channel.alloc() : io.netty.buffer.ByteBufAllocator.DEFAULT;
    }

    private Channel session(int channel) {
        synchronized (sessions) {
            return sessions[channel];
        }
    }

    private void dial(int channelNumber) {
        synchronized (sessions) {
            Channel current = sessions[channelNumber];
            if (closed || (current != null && current.isActive()) || connecting[channelNumber]) {
                scheduleDial(channelNumber);
                return;
            }
            connecting[channelNumber] = true;
        }
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
                        configure(channel, PairingKey.Side.DIALER, channelNumber);
                    }
                })
                .connect(resolve(peerAddress))
                .addListener((ChannelFuture future) -> {
                    if (!future.isSuccess()) {
                        synchronized (sessions) {
                            connecting[channelNumber] = false;
                        }
                        LOG.log(Level.DEBUG, "{0}: cannot reach {1} at {2}: {3}", self, peer, peerAddress,
                                future.cause().getMessage());
                        scheduleDial(channelNumber);
                    } else {
                        future.channel().closeFuture().addListener(closedFuture -> {
                            synchronized (sessions) {
                                connecting[channelNumber] = false;
                            }
                            scheduleDial(channelNumber);
                        });
                    }
                });
    }

    private void scheduleDial(int channelNumber) {
        if (!closed && dialer) {
            later(group.next(), () -> dial(channelNumber), reconnectIntervalNanos);
        }
    }

    /** This link's one timer, on an event loop: the redial, and the wait for the listener's release. */
    private static void later(EventExecutor loop, Runnable task, long delayNanos) {
        loop.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void configure(SocketChannel channel, PairingKey.Side side, int channelNumber) {
        channel.pipeline()
                .addLast("frames", new FrameDecoder(maxFrameBytes))
                .addLast("encoder", MessageEncoder.INSTANCE)
                .addLast("handshake", new HandshakeHandler(side, Math.max(0, channelNumber), self, peer, key,
                        incarnation, handshakeTimeoutNanos))
                .addLast("session", new SessionHandler(side));
        channel.closeFuture().addListener(future -> onClosed(channel));
    }

    private void onClosed(Channel channel) {
        if (!Boolean.TRUE.equals(channel.attr(AUTHENTICATED).get())) {
            pendingHandshakes.decrementAndGet();
        }
        Integer number = channel.attr(CHANNEL).get();
        if (number == null) {
            return;
        }
        boolean wasCurrent;
        synchronized (sessions) {
            wasCurrent = sessions[number] == channel;
            if (wasCurrent) {
                sessions[number] = null;
            }
        }
        if (wasCurrent) {
            DataLinkListener bulk = bulkListener(number);
            if (number == CONTROL) {
                listener.onSessionDown("connection closed");
            } else if (bulk != null) {
                bulk.onDataSessionDown();
            }
        }
    }

    private static final AttributeKey<Integer> CHANNEL = AttributeKey.valueOf("avance.channel");

    private DataLinkListener bulkListener(int number) {
        return number == DATA ? dataListener : number == MIGRATION ? migrationListener : null;
    }

    private static String channelName(int number) {
        return number == CONTROL ? "control" : number == DATA ? "data" : "migration";
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
                int number = established.channel();
                if (number != CONTROL && bulkListener(number) == null) {
                    LOG.log(Level.WARNING, "{0}: the peer opened a {1} channel, but this node has none", self,
                            channelName(number));
                    context.close();
                    return;
                }
                if (number != CONTROL) {
                    // Bulk frames are large: cumulate the socket's reads without copying them.
                    FrameDecoder decoder = context.pipeline().get(FrameDecoder.class);
                    if (decoder != null) {
                        decoder.setCumulator(io.netty.handler.codec.ByteToMessageDecoder.COMPOSITE_CUMULATOR);
                    }
                }
                context.channel().attr(AUTHENTICATED).set(true);
                context.channel().attr(FLUSH_QUEUED).set(new boolean[1]);
                context.channel().attr(CHANNEL).set(number);
                pendingHandshakes.decrementAndGet();
                Channel previous;
                synchronized (sessions) {
                    previous = sessions[number];
                    sessions[number] = context.channel();
                }
                if (previous != null && previous != context.channel()) {
                    LOG.log(Level.INFO, "{0}: a new private link {1} session replaces the old one", self,
                            channelName(number));
                    previous.close();
                }
                LOG.log(Level.INFO, "{0}: private link {1} {2} {3} authenticated (protocol {4})", self,
                        channelName(number), HandshakeHandler.describe(side),
                        context.channel().remoteAddress(), established.protocol());
                if (number == CONTROL) {
                    listener.onSessionUp(established.peerIncarnation());
                } else {
                    bulkListener(number).onDataSessionUp();
                }
            } else {
                context.fireUserEventTriggered(event);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            Frame frame = (Frame) message;
            Integer number = context.channel().attr(CHANNEL).get();
            if (number != null && number != CONTROL) {
                DataLinkListener bulk = bulkListener(number);
                if (session(number) == context.channel() && bulk != null) {
                    bulk.onDataFrame(frame);
                } else {
                    frame.release();
                }
                return;
            }
            Message decoded;
            try {
                decoded = Messages.decode(frame);
            } finally {
                frame.release();
            }
            if (session(CONTROL) == context.channel()) {
                listener.onMessage(decoded);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext context) {
            Integer number = context.channel().attr(CHANNEL).get();
            DataLinkListener bulk = number == null ? null : bulkListener(number);
            if (bulk != null && context.channel().isWritable()) {
                bulk.onDataWritable();
            }
            context.fireChannelWritabilityChanged();
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
        for (int number = 0; number < sessions.length; number++) {
            Channel channel = session(number);
            if (channel != null) {
                channel.close().awaitUninterruptibly();
            }
        }
        Channel listening = server;
        if (listening != null) {
            listening.close().awaitUninterruptibly();
            awaitReleased((ListeningChannel) listening);
        }
    }

    /**
     * Waits until the listening socket is really closed. The JDK closes a socket registered with
     * a selector only when that selector next selects, after the channel's close has completed; a
     * link started again at once on the same address (a reboot in process, a test reconnecting)
     * would find the address still in use, about once in forty tries on this project's machine.
     * The event loop selects between two of its timers, so the check is done on one, every
     * millisecond, a bounded number of times.
     */
    private static void awaitReleased(ListeningChannel listening) {
        Promise<Void> released = listening.eventLoop().newPromise();
        try {
            listening.eventLoop().execute(() -> checkReleased(listening, released, 0));
        } catch (RejectedExecutionException e) {
            return;
        }
        released.awaitUninterruptibly();
    }

    private static void checkReleased(ListeningChannel listening, Promise<Void> released, int checks) {
        if (listening.released() || checks >= MAX_RELEASE_CHECKS) {
            released.trySuccess(null);
            return;
        }
        try {
            later(listening.eventLoop(), () -> checkReleased(listening, released, checks + 1), RELEASE_CHECK_NANOS);
        } catch (RejectedExecutionException e) {
            released.trySuccess(null);
        }
    }

    private static final int MAX_RELEASE_CHECKS = 1_000;
    private static final long RELEASE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** The listening socket, which can tell when the JDK has really closed it. */
    private static final class ListeningChannel extends NioServerSocketChannel {
        /** @return whether the socket is closed and no selector holds it any more */
        boolean released() {
            return !isOpen() && !javaChannel().isRegistered();
        }
    }
}
