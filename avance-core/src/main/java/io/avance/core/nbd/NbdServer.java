package io.avance.core.nbd;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Serves a node's volumes over NBD (fixed newstyle; see {@link NbdHandshake} and
 * {@link NbdTransmission} for what is supported and how errors map).
 *
 * <pre>{@code
 * NbdServer server = new NbdServer(new InetSocketAddress("127.0.0.1", 10809), exports, meters, "alpha");
 * server.start();
 * // qemu-img info nbd://127.0.0.1:10809/data
 * }</pre>
 *
 * <p>Both nodes run a server; only the primary's accepts clients (the backup refuses with a
 * message naming the primary), so that after a takeover the new primary serves the same exports
 * at its own address. When this node stops being primary, {@link #disconnectAll} drops its
 * clients. Thread-safe.
 */
public final class NbdServer implements AutoCloseable {

    private static final Logger LOG = System.getLogger(NbdServer.class.getName());
    /** Connections beyond this are refused at once. */
    static final int MAX_CONNECTIONS = 64;
    /** A client must finish its handshake within this. */
    private static final int HANDSHAKE_SECONDS = 30;

    private final InetSocketAddress listen;
    private final NbdExports exports;
    private final Metrics metrics;
    private final String node;
    private final ChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private EventLoopGroup group;
    private Channel server;
    private volatile boolean closing;

    /**
     * Creates a server; nothing listens until {@link #start()}.
     *
     * @param listen  where to listen (port 0 picks a free one)
     * @param exports the volumes and whether this node may serve them
     * @param meters  for metrics ({@code avance.nbd.*})
     * @param node    this node's id, for metric tags
     */
    public NbdServer(InetSocketAddress listen, NbdExports exports, MeterRegistry meters, String node) {
        this.listen = listen;
        this.exports = exports;
        this.node = node;
        this.metrics = new Metrics(meters, node);
        Gauge.builder("avance.nbd.connections", clients, ChannelGroup::size)
                .description("open NBD client connections").tag("node", node).register(meters);
    }

    /**
     * Starts listening.
     *
     * @throws IOException if the address cannot be bound
     */
    public synchronized void start() throws IOException {
        group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("avance-nbd-" + node, true),
                NioIoHandler.newFactory());
        try {
            server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            if (clients.size() >= MAX_CONNECTIONS || closing) {
                                LOG.log(Level.WARNING, "NBD: refusing {0}: {1} connections open",
                                        channel.remoteAddress(), clients.size());
                                channel.close();
                                return;
                            }
                            clients.add(channel);
                            channel.pipeline()
                                    .addLast("handshake-timeout", new ReadTimeoutHandler(HANDSHAKE_SECONDS))
                                    .addLast("flush", new FlushConsolidationHandler(64, true))
                                    .addLast("nbd-handshake", new NbdHandshake(NbdServer.this))
                                    .addLast("errors", new ChannelInboundHandlerAdapter() {
                                        @Override
                                        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
                                            LOG.log(Level.WARNING, "NBD client {0}: {1}; disconnecting",
                                                    context.channel().remoteAddress(), String.valueOf(cause));
                                            context.close();
                                        }
                                    });
                        }
                    })
                    .bind(resolve(listen)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot listen for NBD clients on " + listen + ": " + e.getMessage(), e);
        }
        LOG.log(Level.INFO, "{0}: NBD server listening on {1}", node, server.localAddress());
    }

    /** @return the bound address */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * Drops every client connection, as when this node stops being primary. Clients reconnect
     * and find the new primary.
     *
     * @param reason for the log
     */
    public void disconnectAll(String reason) {
        if (!clients.isEmpty()) {
            LOG.log(Level.WARNING, "{0}: disconnecting {1} NBD clients: {2}", node, clients.size(), reason);
            clients.close();
        }
    }

    NbdExports exports() {
        return exports;
    }

    Metrics metrics() {
        return metrics;
    }

    boolean closing() {
        return closing;
    }

    /** A connection finished its handshake: the handshake deadline no longer applies. */
    void transmissionStarted(Channel channel) {
        if (channel.pipeline().get("handshake-timeout") != null) {
            channel.pipeline().remove("handshake-timeout");
        }
    }

    @Override
    public synchronized void close() {
        closing = true;
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        clients.close().awaitUninterruptibly();
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }

    private static InetSocketAddress resolve(InetSocketAddress address) {
        return address.isUnresolved() ? new InetSocketAddress(address.getHostString(), address.getPort()) : address;
    }

    /**
     * The server's metrics: requests and bytes by command, errors by code.
     */
    static final class Metrics {
        private final MeterRegistry meters;
        private final String node;
        private final Map<String, Counter> counters = new ConcurrentHashMap<>();

        Metrics(MeterRegistry meters, String node) {
            this.meters = meters;
            this.node = node;
        }

        private Counter counter(String name, String description, String... tags) {
            String key = name + String.join(",", tags);
            return counters.computeIfAbsent(key, k -> Counter.builder(name).description(description)
                    .tag("node", node).tags(tags).register(meters));
        }

        /** The hot counters, by command: looked up once, not per request. */
        private final Counter[] ok = new Counter[NbdProtocol.CMD_BLOCK_STATUS + 1];
        private final Counter[] bytesByCommand = new Counter[NbdProtocol.CMD_BLOCK_STATUS + 1];

        void completed(int command, long bytes) {
            if (command < 0 || command >= ok.length) {
                return;
            }
            Counter requests = ok[command];
            if (requests == null) {
                String op = NbdProtocol.commandName(command);
                requests = counter("avance.nbd.requests", "NBD requests completed", "op", op, "result", "ok");
                ok[command] = requests;
                bytesByCommand[command] = counter("avance.nbd.bytes", "bytes read or written through NBD", "op", op);
            }
            requests.increment();
            if (bytes > 0) {
                bytesByCommand[command].increment(bytes);
            }
        }

        void failed(int command, int error) {
            counter("avance.nbd.requests", "NBD requests completed", "op", NbdProtocol.commandName(command),
                    "result", "error-" + error).increment();
        }

        void option(int option) {
            counter("avance.nbd.options", "NBD handshake options received", "option", String.valueOf(option))
                    .increment();
        }

        void optionRefused(int reply) {
            counter("avance.nbd.options.refused", "NBD handshake options refused", "reply",
                    Integer.toHexString(reply)).increment();
        }

        void protocolError() {
            counter("avance.nbd.protocol.errors", "NBD clients disconnected for breaking the protocol").increment();
        }
    }
}
