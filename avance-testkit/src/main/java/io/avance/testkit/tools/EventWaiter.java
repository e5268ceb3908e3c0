package io.avance.testkit.tools;

import io.avance.api.event.PairEvent;
import io.avance.api.event.PairListener;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition over nodes, checking it again whenever one of them publishes an event
 * (a role change, a volume state change, resync progress) instead of sleeping. Register it with
 * every node whose events matter.
 */
public final class EventWaiter implements PairListener {

    private final Object signal = new Object();

    @Override
    public void onEvent(PairEvent event) {
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    /**
     * Waits until a condition holds.
     *
     * @param condition what must become true
     * @param limit     the longest wait
     * @param failure   what to report otherwise
     * @throws InterruptedException if interrupted
     */
    public void await(BooleanSupplier condition, Duration limit, Supplier<String> failure) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        synchronized (signal) {
            while (!condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(failure.get());
                }
                // Events wake this; the bounded wait covers conditions that no event announces.
                signal.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            }
        }
    }
}
