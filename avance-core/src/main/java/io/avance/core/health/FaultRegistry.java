package io.avance.core.health;

import io.avance.api.NodeId;
import io.avance.api.event.FaultCleared;
import io.avance.api.event.FaultRaised;
import io.avance.api.event.PairEvent;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.core.time.NanoClock;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The active faults of one node, their history, and the faults predicted from it.
 *
 * <p>Faults come from two sources. <em>Reported</em> faults are raised and cleared by whoever
 * observes them: the embedding program's hardware monitor, the engine itself. <em>Derived</em>
 * faults are computed here: a component that fails too often (its {@link MtbfEstimator MTBF}
 * estimate is below the threshold) or a sensor whose {@link TrendPredictor trend} will cross its
 * failure threshold soon gets a predicted fault; a sensor reading beyond its threshold is a fault.
 * A reported fault hides a derived one for the same component and location.
 *
 * <p>Thread-safe. Listeners are called after the change, outside the registry's lock, on the
 * thread that made the change; they must not block.
 */
public final class FaultRegistry {

    private static final Logger LOG = System.getLogger(FaultRegistry.class.getName());

    private final NodeId node;
    private final NanoClock clock;
    private final Clock wallClock;
    private final HealthConfig config;
    private final long watchedSinceNanos;
    private final Map<Key, ActiveFault> reported = new LinkedHashMap<>();
    private final Map<Key, ActiveFault> derived = new LinkedHashMap<>();
    private final Map<Key, List<Long>> failureTimes = new LinkedHashMap<>();
    private final Map<Key, Sensor> sensors = new LinkedHashMap<>();
    private final List<Consumer<PairEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Map<Key, Acknowledgement> acknowledged = new LinkedHashMap<>();
    private HealthScore score = HealthScore.perfect();

    /**
     * Creates an empty registry.
     *
     * @param node      the node whose faults these are
     * @param clock     for failure history and trends
     * @param wallClock for the times shown to operators
     * @param config    MTBF and trend settings
     */
    public FaultRegistry(NodeId node, NanoClock clock, Clock wallClock, HealthConfig config) {
        this.node = Objects.requireNonNull(node, "node");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.wallClock = Objects.requireNonNull(wallClock, "wallClock");
        this.config = Objects.requireNonNull(config, "config");
        this.watchedSinceNanos = clock.nanoTime();
    }

    /**
     * A fault as it stands in the registry.
     *
     * @param fault the fault
     * @param since when it became active
     * @param derived true if the registry computed it (MTBF or trend), false if it was reported
     */
    public record ActiveFault(Fault fault, Instant since, boolean derived) {
    }

    /**
     * An operator's acknowledgement of an active fault: it still counts in the score, but alerts
     * stop and the monitor shows who took it on.
     *
     * @param by   the user who acknowledged it
     * @param time when
     */
    public record Acknowledgement(String by, Instant time) {
    }

    private record Key(Component component, String location) {
        static Key of(Fault fault) {
            return new Key(fault.component(), fault.location());
        }
    }

    private static final class Sensor {
        final TrendPredictor trend;
        double threshold;
        boolean failsAbove;
        Severity severity;
        String unit;

        Sensor(HealthConfig config) {
            this.trend = new TrendPredictor(config.trendMinSamples(), config.trendMaxSamples());
        }
    }

    /**
     * Registers a listener for {@link FaultRaised} and {@link FaultCleared} events.
     *
     * @param listener called after each change
     */
    public void addListener(Consumer<PairEvent> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Makes a fault active, replacing any active fault for the same component and location.
     * A fault that is not a prediction, of at least {@link Severity#MAJOR} severity, counts as a
     * failure of its component when it becomes active.
     *
     * @param fault the fault
     */
    public void raise(Fault fault) {
        Objects.requireNonNull(fault, "fault");
        List<PairEvent> events = new ArrayList<>();
        synchronized (this) {
            long now = clock.nanoTime();
            Key key = Key.of(fault);
            ActiveFault previous = reported.get(key);
            if (previous != null && previous.fault().equals(fault)) {
                return;
            }
            if (countsAsFailure(fault) && (previous == null || !countsAsFailure(previous.fault()))) {
                failureTimes.computeIfAbsent(key, k -> new ArrayList<>()).add(now);
            }
            Instant since = previous != null ? previous.since() : wallClock.instant();
            reported.put(key, new ActiveFault(fault, since, false));
            recomputeDerived(now, events);
            rescore();
            events.add(0, new FaultRaised(wallClock.instant(), node, fault, score.value()));
        }
        LOG.log(Level.INFO, "fault raised on {0}: {1} {2} ({3}{4}): {5}", node, fault.component(), fault.location(),
                fault.severity(), fault.predicted() ? ", predicted" : "", fault.description());
        publish(events);
    }

    /**
     * Clears the active fault of a component at a location, if any.
     *
     * @param component the component
     * @param location  its location
     * @return true if a fault was cleared
     */
    public boolean clear(Component component, String location) {
        List<PairEvent> events = new ArrayList<>();
        ActiveFault removed;
        synchronized (this) {
            removed = reported.remove(new Key(component, location));
            if (removed == null) {
                return false;
            }
            if (!derived.containsKey(new Key(component, location))) {
                acknowledged.remove(new Key(component, location));
            }
            recomputeDerived(clock.nanoTime(), events);
            rescore();
            events.add(0, new FaultCleared(wallClock.instant(), node, removed.fault(), score.value()));
        }
        LOG.log(Level.INFO, "fault cleared on {0}: {1} {2}", node, component, location);
        publish(events);
        return true;
    }

    /**
     * Acknowledges the active fault of a component at a location. The acknowledgement lasts until
     * the fault clears; a fault raised again later is new and alerts again.
     *
     * @param component the component
     * @param location  its location
     * @param by        who acknowledges it
     * @return true if such a fault is active (and is now acknowledged)
     */
    public boolean acknowledge(Component component, String location, String by) {
        Objects.requireNonNull(by, "by");
        synchronized (this) {
            Key key = new Key(component, location);
            if (!reported.containsKey(key) && !derived.containsKey(key)) {
                return false;
            }
            acknowledged.putIfAbsent(key, new Acknowledgement(by, wallClock.instant()));
        }
        LOG.log(Level.INFO, "fault acknowledged on {0} by {1}: {2} {3}", node, by, component, location);
        return true;
    }

    /**
     * The acknowledgement of an active fault, if an operator gave one.
     *
     * @param component the component
     * @param location  its location
     * @return the acknowledgement, or empty
     */
    public synchronized Optional<Acknowledgement> acknowledgement(Component component, String location) {
        return Optional.ofNullable(acknowledged.get(new Key(component, location)));
    }

    /**
     * Records a sensor reading; the registry raises a fault when the reading is beyond the
     * threshold, and a predicted fault when the trend will reach it within the horizon.
     *
     * @param component  the component the sensor watches
     * @param location   which one
     * @param value      the reading
     * @param threshold  the reading at which the component fails
     * @param failsAbove true if readings above the threshold mean failure, false if below
     * @param severity   the severity of the failure
     * @param unit       the reading's unit, for descriptions ("°C", "rpm")
     */
    public void recordReading(Component component, String location, double value, double threshold,
                              boolean failsAbove, Severity severity, String unit) {
        List<PairEvent> events = new ArrayList<>();
        synchronized (this) {
            long now = clock.nanoTime();
            Sensor sensor = sensors.computeIfAbsent(new Key(component, location), k -> new Sensor(config));
            sensor.threshold = threshold;
            sensor.failsAbove = failsAbove;
            sensor.severity = severity;
            sensor.unit = unit;
            sensor.trend.add(now, value);
            recomputeDerived(now, events);
            rescore();
        }
        publish(events);
    }

    /**
     * Re-evaluates the derived faults at the current time: failures age out of the MTBF window.
     * The engine calls this on its duty cycle.
     */
    public void refresh() {
        List<PairEvent> events = new ArrayList<>();
        synchronized (this) {
            recomputeDerived(clock.nanoTime(), events);
            rescore();
        }
        publish(events);
    }

    /**
     * The node's score from every active fault, reported and derived.
     *
     * @return the current score
     */
    public synchronized HealthScore score() {
        return score;
    }

    /**
     * Every active fault, reported and derived, heaviest first.
     *
     * @return a snapshot
     */
    public synchronized List<ActiveFault> activeFaults() {
        List<ActiveFault> all = new ArrayList<>(reported.values());
        for (Map.Entry<Key, ActiveFault> entry : derived.entrySet()) {
            if (!reported.containsKey(entry.getKey())) {
                all.add(entry.getValue());
            }
        }
        all.sort((a, b) -> Integer.compare(b.fault().weight(), a.fault().weight()));
        return all;
    }

    /**
     * The estimated MTBF of a component.
     *
     * @param component the component
     * @param location  which one
     * @return the estimate, or empty with too few failures to say
     */
    public synchronized Optional<Duration> mtbf(Component component, String location) {
        List<Long> times = failureTimes.getOrDefault(new Key(component, location), List.of());
        long estimate = MtbfEstimator.estimate(times, watchedSinceNanos, clock.nanoTime(),
                config.mtbfWindowNanos(), config.mtbfMinFailures());
        return estimate == MtbfEstimator.UNKNOWN ? Optional.empty() : Optional.of(Duration.ofNanos(estimate));
    }

    private static boolean countsAsFailure(Fault fault) {
        return !fault.predicted() && fault.severity().compareTo(Severity.MAJOR) >= 0;
    }

    private void recomputeDerived(long now, List<PairEvent> events) {
        Map<Key, Fault> wanted = new LinkedHashMap<>();
        for (Map.Entry<Key, Sensor> entry : sensors.entrySet()) {
            Key key = entry.getKey();
            Sensor sensor = entry.getValue();
            double value = sensor.trend.lastValue();
            boolean beyond = sensor.failsAbove ? value >= sensor.threshold : value <= sensor.threshold;
            if (beyond) {
                wanted.put(key, Fault.of(key.component(), key.location(), sensor.severity,
                        "reads " + format(value) + sensor.unit + ", beyond its limit of "
                                + format(sensor.threshold) + sensor.unit));
                continue;
            }
            OptionalLong crossing = sensor.trend.nanosUntilCrossing(sensor.threshold, sensor.failsAbove, now);
            if (crossing.isPresent() && crossing.getAsLong() <= config.trendHorizonNanos()) {
                wanted.put(key, Fault.predicted(key.component(), key.location(), sensor.severity,
                        "reads " + format(value) + sensor.unit + " and is heading for its limit of "
                                + format(sensor.threshold) + sensor.unit + " within "
                                + describe(Duration.ofNanos(crossing.getAsLong()))));
            }
        }
        for (Iterator<Map.Entry<Key, List<Long>>> it = failureTimes.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, List<Long>> entry = it.next();
            entry.getValue().removeIf(time -> time <= now - config.mtbfWindowNanos());
            if (entry.getValue().isEmpty()) {
                it.remove();
                continue;
            }
            Key key = entry.getKey();
            long estimate = MtbfEstimator.estimate(entry.getValue(), watchedSinceNanos, now,
                    config.mtbfWindowNanos(), config.mtbfMinFailures());
            if (estimate < config.mtbfThresholdNanos() && !wanted.containsKey(key)) {
                wanted.put(key, Fault.predicted(key.component(), key.location(), Severity.MAJOR,
                        "failed " + entry.getValue().size() + " times recently: about once every "
                                + describe(Duration.ofNanos(estimate))));
            }
        }
        for (Iterator<Map.Entry<Key, ActiveFault>> it = derived.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, ActiveFault> entry = it.next();
            Fault replacement = wanted.get(entry.getKey());
            if (replacement == null) {
                it.remove();
                if (!reported.containsKey(entry.getKey())) {
                    acknowledged.remove(entry.getKey());
                }
                if (!reported.containsKey(entry.getKey())) {
                    events.add(new FaultCleared(wallClock.instant(), node, entry.getValue().fault(), -1));
                }
            }
        }
        for (Map.Entry<Key, Fault> entry : wanted.entrySet()) {
            ActiveFault current = derived.get(entry.getKey());
            if (current != null && sameExceptDescription(current.fault(), entry.getValue())) {
                continue;
            }
            if (current == null && countsAsFailure(entry.getValue())) {
                failureTimes.computeIfAbsent(entry.getKey(), k -> new ArrayList<>()).add(now);
            }
            Instant since = current != null ? current.since() : wallClock.instant();
            derived.put(entry.getKey(), new ActiveFault(entry.getValue(), since, true));
            if (!reported.containsKey(entry.getKey())) {
                events.add(new FaultRaised(wallClock.instant(), node, entry.getValue(), -1));
            }
        }
    }

    private static boolean sameExceptDescription(Fault a, Fault b) {
        return a.severity() == b.severity() && a.predicted() == b.predicted();
    }

    private void rescore() {
        List<Fault> faults = new ArrayList<>();
        for (ActiveFault fault : reported.values()) {
            faults.add(fault.fault());
        }
        for (Map.Entry<Key, ActiveFault> entry : derived.entrySet()) {
            if (!reported.containsKey(entry.getKey())) {
                faults.add(entry.getValue().fault());
            }
        }
        score = HealthScore.of(faults);
    }

    private void publish(List<PairEvent> events) {
        if (events.isEmpty()) {
            return;
        }
        int current = score().value();
        for (PairEvent event : events) {
            PairEvent scored = event;
            if (event instanceof FaultRaised raised && raised.score() < 0) {
                scored = new FaultRaised(raised.time(), raised.node(), raised.fault(), current);
            } else if (event instanceof FaultCleared cleared && cleared.score() < 0) {
                scored = new FaultCleared(cleared.time(), cleared.node(), cleared.fault(), current);
            }
            for (Consumer<PairEvent> listener : listeners) {
                try {
                    listener.accept(scored);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "fault listener failed", e);
                }
            }
        }
    }

    private static String format(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.format("%.1f", value);
    }

    static String describe(Duration duration) {
        if (duration.toDays() >= 2) {
            return duration.toDays() + " days";
        }
        if (duration.toHours() >= 2) {
            return duration.toHours() + " hours";
        }
        if (duration.toMinutes() >= 2) {
            return duration.toMinutes() + " minutes";
        }
        return Math.max(0, duration.toSeconds()) + " s";
    }
}
