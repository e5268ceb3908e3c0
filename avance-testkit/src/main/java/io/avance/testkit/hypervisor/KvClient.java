package io.avance.testkit.hypervisor;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client of the simulated kv guest's line protocol (see {@link SimulatedHypervisor}), for tests
 * and the demo: it rides through migrations and failovers, and remembers what it was promised.
 *
 * <p>Reconnect and retry: when the connection drops or cannot be made (the VM is migrating and
 * its endpoint moves, the node died and the VM is restarting elsewhere), the request is sent again
 * on a new connection until it is answered or the retry deadline (from the start of the call)
 * passes. Retrying a PUT whose reply was lost is harmless: the same key gets the same value again
 * (under a new sequence number). An {@code ERR} reply is the guest's answer, not a lost one: it is
 * not retried but thrown as {@link KvException}.
 *
 * <p>Acknowledged writes: every PUT answered {@code OK} is recorded ({@link #acknowledged()}),
 * the last value per key, so that a test can check after any fault that no acknowledged write
 * was lost ({@link #verifyAll()}).
 *
 * <p>Thread-safety: thread-safe; requests from several threads are sent one at a time over the
 * client's one connection. For load from several threads use several clients; each records its
 * own acknowledgements. Closing it closes the connection; later requests fail.
 */
public final class KvClient implements AutoCloseable {

    /** The retry deadline of the two-argument constructor. */
    public static final Duration DEFAULT_RETRY_DEADLINE = Duration.ofSeconds(30);
    private static final Pattern STATS = Pattern.compile(
            "STATS keys=(\\d+) seq=(\\d+) boot=([0-9a-f]+) node=(\\S+)");
    /** The longest wait between two attempts. */
    private static final long MAX_BACKOFF_MILLIS = 20;
    /** How long one attempt waits for a reply before it counts the connection as lost. */
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

    private final InetSocketAddress address;
    private final Duration retryDeadline;
    private final Map<String, String> acknowledged = new TreeMap<>();
    private Socket socket;
    private BufferedReader in;
    private OutputStream out;
    private final AtomicLong reconnects = new AtomicLong();
    private boolean closed;

    /**
     * Creates a client; it connects on the first request.
     *
     * @param address       the guest's endpoint ({@code sim.bind:sim.port})
     * @param retryDeadline how long one call keeps trying through lost connections
     */
    public KvClient(InetSocketAddress address, Duration retryDeadline) {
        this.address = Objects.requireNonNull(address, "address");
        this.retryDeadline = Objects.requireNonNull(retryDeadline, "retryDeadline");
        if (retryDeadline.isNegative()) {
            throw new IllegalArgumentException("the retry deadline must not be negative: " + retryDeadline);
        }
    }

    /**
     * Creates a client that retries for {@link #DEFAULT_RETRY_DEADLINE}.
     *
     * @param address the guest's endpoint ({@code sim.bind:sim.port})
     */
    public KvClient(InetSocketAddress address) {
        this(address, DEFAULT_RETRY_DEADLINE);
    }

    /**
     * Stores a value and records it as acknowledged once the guest answers {@code OK}: at that
     * point it is durable on the guest's disk.
     *
     * @param key   1-64 printable ASCII characters without spaces
     * @param value 1-184 printable ASCII characters without spaces
     * @return the sequence number the guest logged it under
     * @throws IllegalArgumentException if the key or value cannot be sent
     * @throws KvException              if the guest refused it ({@code ERR}: table or log full, disk
     *                                  failed) or no answer came before the retry deadline
     */
    public synchronized long put(String key, String value) {
        checkToken("key", key, KvTable.MAX_KEY);
        checkToken("value", value, KvTable.MAX_VALUE);
        String reply = call("PUT " + key + " " + value);
        if (!reply.startsWith("OK ")) {
            throw new KvException("PUT " + key + ": unexpected reply '" + reply + "'");
        }
        long sequence;
        try {
            sequence = Long.parseLong(reply.substring(3));
        } catch (NumberFormatException e) {
            throw new KvException("PUT " + key + ": unexpected reply '" + reply + "'");
        }
        acknowledged.put(key, value);
        return sequence;
    }

    /**
     * Reads a value.
     *
     * @param key the key
     * @return its value, or empty if the guest has none
     * @throws KvException if the guest answered {@code ERR} or not before the retry deadline
     */
    public synchronized Optional<String> get(String key) {
        checkToken("key", key, KvTable.MAX_KEY);
        String reply = call("GET " + key);
        if (reply.equals("NONE")) {
            return Optional.empty();
        }
        if (reply.startsWith("VALUE ")) {
            return Optional.of(reply.substring(6));
        }
        throw new KvException("GET " + key + ": unexpected reply '" + reply + "'");
    }

    /**
     * Asks the guest for its statistics.
     *
     * @return what it answered
     * @throws KvException if the guest answered {@code ERR} or not before the retry deadline
     */
    public synchronized Stats stats() {
        String reply = call("STATS");
        Matcher matcher = STATS.matcher(reply);
        if (!matcher.matches()) {
            throw new KvException("STATS: unexpected reply '" + reply + "'");
        }
        return new Stats(Long.parseLong(matcher.group(1)), Long.parseLong(matcher.group(2)), matcher.group(3),
                matcher.group(4));
    }

    /**
     * Every write the guest acknowledged to this client: the last value per key.
     *
     * @return a copy, by key
     */
    public synchronized SortedMap<String, String> acknowledged() {
        return new TreeMap<>(acknowledged);
    }

    /**
     * Reads back every acknowledged key and reports those that do not hold what was acknowledged.
     * Another client writing the same keys would show up here too.
     *
     * @return the keys that are missing (empty) or hold another value, with what the guest holds;
     *         empty if no acknowledged write was lost
     * @throws KvException if the guest cannot be reached before the retry deadline
     */
    public synchronized SortedMap<String, Optional<String>> verifyAll() {
        SortedMap<String, Optional<String>> wrong = new TreeMap<>();
        for (Map.Entry<String, String> entry : new TreeMap<>(acknowledged).entrySet()) {
            Optional<String> found = get(entry.getKey());
            if (!found.equals(Optional.of(entry.getValue()))) {
                wrong.put(entry.getKey(), found);
            }
        }
        return wrong;
    }

    /**
     * How many attempts failed on a lost or refused connection and were retried. Readable while
     * another thread's call is retrying.
     *
     * @return the count since the client was created
     */
    public long reconnects() {
        return reconnects.get();
    }

    /** Closes the connection. */
    @Override
    public synchronized void close() {
        closed = true;
        disconnect();
    }

    private String call(String request) {
        if (closed) {
            throw new KvException("the client is closed");
        }
        long deadline = System.nanoTime() + retryDeadline.toNanos();
        long backoffMillis = 1;
        IOException last = null;
        while (true) {
            try {
                if (socket == null) {
                    connect();
                }
                out.write((request + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String reply = in.readLine();
                if (reply == null) {
                    throw new IOException("the guest closed the connection");
                }
                if (reply.startsWith("ERR")) {
                    throw new KvException(request.split(" ", 2)[0] + ": the guest answered '" + reply + "'");
                }
                return reply;
            } catch (IOException e) {
                last = e;
                disconnect();
                reconnects.incrementAndGet();
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new KvException("no answer from " + address + " to '" + abbreviate(request) + "' within "
                        + retryDeadline.toMillis() + " ms; last failure: " + last.getMessage(), last);
            }
            try {
                // A backoff between attempts (the endpoint is moving or restarting); the deadline
                // bounds the whole call. Capped low: a migrated VM binds its port again within
                // milliseconds, and a long backoff would show up as a long pause to the client.
                TimeUnit.MILLISECONDS.sleep(Math.min(backoffMillis, TimeUnit.NANOSECONDS.toMillis(left) + 1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KvException("interrupted while waiting to retry '" + abbreviate(request) + "'", e);
            }
            backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
        }
    }

    private void connect() throws IOException {
        Socket fresh = new Socket();
        try {
            fresh.setTcpNoDelay(true);
            fresh.setSoTimeout((int) REPLY_TIMEOUT.toMillis());
            fresh.connect(address, (int) REPLY_TIMEOUT.toMillis());
            in = new BufferedReader(new InputStreamReader(fresh.getInputStream(), StandardCharsets.US_ASCII));
            out = fresh.getOutputStream();
            socket = fresh;
        } catch (IOException e) {
            fresh.close();
            throw e;
        }
    }

    private void disconnect() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException e) {
                // closing for good
            }
        }
        socket = null;
        in = null;
        out = null;
    }

    private static void checkToken(String what, String token, int max) {
        Objects.requireNonNull(token, what);
        if (token.isEmpty() || token.length() > max) {
            throw new IllegalArgumentException(what + " must be 1-" + max + " characters, was " + token.length());
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < '!' || c > '~') {
                throw new IllegalArgumentException(what + " must be printable ASCII without spaces: '" + token + "'");
            }
        }
    }

    private static String abbreviate(String request) {
        return request.length() <= 80 ? request : request.substring(0, 77) + "...";
    }

    /**
     * What the guest's STATS answered.
     *
     * @param keys         keys in its table
     * @param lastSequence the last sequence number it logged
     * @param bootId       its boot id
     * @param node         the node it runs on
     */
    public record Stats(long keys, long lastSequence, String bootId, String node) {
    }

    /** The guest refused a request, or could not be reached in time. */
    public static final class KvException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what failed
         */
        public KvException(String message) {
            super(message);
        }

        /**
         * @param message what failed
         * @param cause   the last underlying failure
         */
        public KvException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
