package io.avance.core.monitor;

import io.avance.api.event.PairEvent;
import io.avance.api.event.PairListener;
import io.avance.api.event.ResyncProgressed;
import io.avance.api.event.MigrationProgressed;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The last events of a node, described, for the monitor's event list and the diagnostic bundle;
 * also tells the monitor's event stream that something changed. Progress events (resync,
 * migration rounds) change what the monitor shows but are not kept in the list: there would be
 * nothing else in it. Thread-safe.
 */
public final class RecentEvents implements PairListener {

    /** One kept event. */
    public record Item(java.time.Instant time, String node, EventText.Described described) {
    }

    private final int capacity;
    private final Deque<Item> items = new ArrayDeque<>();
    private final List<Runnable> watchers = new CopyOnWriteArrayList<>();

    /**
     * Keeps at most a number of events.
     *
     * @param capacity how many
     */
    public RecentEvents(int capacity) {
        this.capacity = capacity;
    }

    @Override
    public void onEvent(PairEvent event) {
        if (!(event instanceof ResyncProgressed) && !(event instanceof MigrationProgressed)) {
            Item item = new Item(event.time(), event.node().value(), EventText.describe(event));
            synchronized (items) {
                items.addFirst(item);
                while (items.size() > capacity) {
                    items.removeLast();
                }
            }
        }
        for (Runnable watcher : watchers) {
            watcher.run();
        }
    }

    /**
     * Runs something after every event (it must not block).
     *
     * @param watcher what to run
     */
    public void watch(Runnable watcher) {
        watchers.add(watcher);
    }

    /**
     * The kept events.
     *
     * @return newest first
     */
    public List<Item> items() {
        synchronized (items) {
            return new ArrayList<>(items);
        }
    }
}
