package io.avance.core.monitor;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The monitor's server-sent events: every open page holds one stream and receives the whole
 * pair snapshot as an {@code event: pair} message whenever something changes (coalesced to at
 * most one push per 150 ms, because a resync publishes progress many times a second) and at
 * least every two seconds (for lease, silence and ETA figures that change without an event).
 * A stream whose session has ended is closed; the page then sees 401 and shows the login.
 *
 * <p>Thread-safe: pushes run on the monitor's scheduler; Netty channels accept writes from any
 * thread.
 */
final class EventStream {

    private static final long COALESCE_MILLIS = 150;
    private static final long REFRESH_MILLIS = 2_000;

    private final Map<Channel, Sessions.Session> clients = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler;
    private final Supplier<String> snapshot;
    private final Sessions sessions;
    private final AtomicBoolean pending = new AtomicBoolean();

    EventStream(ScheduledExecutorService scheduler, Supplier<String> snapshot, Sessions sessions) {
        this.scheduler = scheduler;
        this.snapshot = snapshot;
        this.sessions = sessions;
        scheduler.scheduleWithFixedDelay(this::pushNow, REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Adds a stream whose response headers were written; sends it the snapshot at once. */
    void add(Channel channel, Sessions.Session session) {
        clients.put(channel, session);
        channel.closeFuture().addListener(future -> clients.remove(channel));
        scheduler.execute(() -> send(channel, session, "pair", snapshot.get()));
    }

    /** Something changed: push soon. */
    void changed() {
        if (pending.compareAndSet(false, true)) {
            scheduler.schedule(() -> {
                pending.set(false);
                pushNow();
            }, COALESCE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    int clients() {
        return clients.size();
    }

    private void pushNow() {
        if (clients.isEmpty()) {
            return;
        }
        String json;
        try {
            json = snapshot.get();
        } catch (RuntimeException e) {
            json = "{\"error\":" + io.avance.core.json.JsonWriter.quote(String.valueOf(e)) + "}";
        }
        for (Map.Entry<Channel, Sessions.Session> client : clients.entrySet()) {
            send(client.getKey(), client.getValue(), "pair", json);
        }
    }

    private void send(Channel channel, Sessions.Session session, String event, String data) {
        if (!sessions.live(session)) {
            clients.remove(channel);
            channel.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("event: expired\ndata: {}\n\n",
                    StandardCharsets.UTF_8))).addListener(future -> channel.close());
            return;
        }
        if (!channel.isActive()) {
            clients.remove(channel);
            return;
        }
        if (!channel.isWritable()) {
            // A slow browser: skip this push rather than queue snapshots without bound; the next
            // one carries the whole state anyway.
            return;
        }
        channel.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("event: " + event + "\ndata: " + data
                + "\n\n", StandardCharsets.UTF_8)));
    }

    void closeAll() {
        for (Channel channel : clients.keySet()) {
            channel.close();
        }
        clients.clear();
    }
}
