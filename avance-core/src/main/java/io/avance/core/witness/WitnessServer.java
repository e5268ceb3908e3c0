package io.avance.core.witness;

import io.avance.api.NodeId;
import io.avance.core.link.Datagrams;
import io.avance.core.link.PairingKey;
import io.avance.core.store.DurableProperties;
import io.avance.core.time.NanoClock;
import io.avance.core.wire.FrameType;
import io.avance.core.wire.Message;
import io.avance.core.wire.ProtocolException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The quorum witness service.
 *
 * <pre>
 * claim(node, epoch, lease) at witness time t:
 *   renewal: epoch == recorded and node == holder                        -&gt; grant
 *   newer:   epoch &gt; recorded and (no holder, or node == holder,
 *                                  or the holder's lease ended by t)     -&gt; record (epoch, node), grant
 *   else                                                                  -&gt; refuse (recorded epoch, holder)
 *   a grant's lease ends at t + min(lease, maximum lease)
 * </pre>
 *
 * <p>The epoch and holder are written durably before the answer is sent. Not thread-safe for
 * callers; it answers on its own thread.
 */
public final class WitnessServer implements AutoCloseable {

    /** The state file's name in the witness's directory. */
    public static final String STATE_FILE = "witness-state.properties";

    private static final Logger LOG = System.getLogger(WitnessServer.class.getName());
    private static final Set<FrameType> ACCEPTED = EnumSet.of(FrameType.WITNESS_CLAIM);

    private final PairingKey key;
    private final Path directory;
    private final NanoClock clock;
    private final long maxLeaseNanos;
    private final DatagramChannel channel;
    private final Thread thread;
    private long epoch;
    private Optional<NodeId> holder;
    private long leaseEndsNanos;
    private volatile boolean closed;

    /**
     * Starts a witness.
     *
     * @param listen        the UDP address to answer on
     * @param secret        the pair's secret
     * @param directory     where the recorded epoch is kept
     * @param clock         the witness's clock
     * @param maxLeaseNanos the longest lease granted
     * @throws IOException if the address cannot be bound or the state cannot be read
     */
    public WitnessServer(InetSocketAddress listen, byte[] secret, Path directory, NanoClock clock, long maxLeaseNanos)
            throws IOException {
        this.key = new PairingKey(secret);
        this.directory = directory;
        this.clock = clock;
        this.maxLeaseNanos = maxLeaseNanos;
        Files.createDirectories(directory);
        Map<String, String> state = DurableProperties.read(directory.resolve(STATE_FILE)).orElse(Map.of());
        this.epoch = Long.parseLong(state.getOrDefault("epoch", "0"));
        String recordedHolder = state.getOrDefault("holder", "");
        this.holder = recordedHolder.isEmpty() ? Optional.empty() : Optional.of(NodeId.of(recordedHolder));
        // After a restart the witness cannot know how long the holder's lease has left: assume the
        // longest, so that nobody else is granted the role while the holder may still serve.
        this.leaseEndsNanos = clock.nanoTime() + maxLeaseNanos;
        this.channel = DatagramChannel.open();
        channel.bind(listen.isUnresolved() ? new InetSocketAddress(listen.getHostString(), listen.getPort()) : listen);
        this.thread = new Thread(this::serve, "avance-witness");
        this.thread.setDaemon(true);
        this.thread.start();
        LOG.log(Level.INFO, "witness listening on {0}; recorded epoch {1} held by {2}", channel.getLocalAddress(),
                epoch, holder.map(NodeId::value).orElse("nobody"));
    }

    /**
     * The address the witness answers on.
     *
     * @return the bound address
     * @throws IOException if closed
     */
    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    private void serve() {
        ByteBuffer buffer = ByteBuffer.allocate(Datagrams.MAX_BYTES + 1);
        while (!closed) {
            buffer.clear();
            SocketAddress sender;
            try {
                sender = channel.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "witness receive failed: {0}", e.getMessage());
                continue;
            }
            buffer.flip();
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            Message.WitnessClaim claim;
            try {
                claim = (Message.WitnessClaim) Datagrams.open(bytes, bytes.length, key, ACCEPTED);
            } catch (ProtocolException e) {
                LOG.log(Level.DEBUG, "witness dropped a datagram from {0}: {1}", sender, e.getMessage());
                continue;
            }
            Message.WitnessVerdict verdict;
            try {
                verdict = decide(claim);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "witness could not record a claim; not answering", e);
                continue;
            }
            try {
                channel.send(ByteBuffer.wrap(Datagrams.seal(verdict, key)), sender);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "witness could not answer {0}: {1}", sender, e.getMessage());
            }
        }
    }

    private Message.WitnessVerdict decide(Message.WitnessClaim claim) {
        long now = clock.nanoTime();
        boolean renewal = claim.epoch() == epoch && holder.equals(Optional.of(claim.node()));
        boolean newer = claim.epoch() > epoch
                && (holder.isEmpty() || holder.equals(Optional.of(claim.node())) || now >= leaseEndsNanos);
        if (!renewal && !newer) {
            LOG.log(Level.INFO, "witness refused epoch {0} to {1}: epoch {2} is held by {3}", claim.epoch(),
                    claim.node(), epoch, holder.map(NodeId::value).orElse("nobody"));
            return new Message.WitnessVerdict(claim.requestId(), false, epoch, holder, 0);
        }
        if (newer) {
            DurableProperties.write(directory.resolve(STATE_FILE), Map.of("epoch", Long.toString(claim.epoch()),
                    "holder", claim.node().value()));
            LOG.log(Level.INFO, "witness granted epoch {0} to {1}", claim.epoch(), claim.node());
            epoch = claim.epoch();
            holder = Optional.of(claim.node());
        }
        long lease = Math.min(claim.leaseNanos(), maxLeaseNanos);
        leaseEndsNanos = now + lease;
        return new Message.WitnessVerdict(claim.requestId(), true, epoch, holder, lease);
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing the witness", e);
        }
    }
}
