package io.avance.api.health;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The health of one node, as a number from 0 (worst) to {@value #MAX} (no faults), with the
 * faults it was computed from.
 *
 * <p>The value is {@value #MAX} minus the weight of every active fault (see
 * {@link Severity#weight()} and {@link Fault#weight()}), floored at zero. Two scores are
 * compared with a <em>margin</em>: a node is healthier than another only if its score is higher
 * by at least the margin. That is what keeps noise (a fault that comes and goes, a fan reading
 * near its threshold) from moving the VMs back and forth. {@link #DEFAULT_MARGIN} is half a major
 * fault, or five minor ones.
 *
 * <p>Immutable and thread-safe.
 */
public final class HealthScore {

    /** The score of a node with no faults. */
    public static final int MAX = 1000;

    /** The default margin by which a node must be healthier before the VMs move to it. */
    public static final int DEFAULT_MARGIN = 50;

    private static final Comparator<Fault> ORDER = Comparator
            .comparingInt(Fault::weight).reversed()
            .thenComparing(Fault::component)
            .thenComparing(Fault::location);

    private static final HealthScore PERFECT = new HealthScore(List.of());

    private final List<Fault> faults;
    private final int value;

    private HealthScore(List<Fault> faults) {
        this.faults = faults;
        int lost = 0;
        for (Fault fault : faults) {
            lost += fault.weight();
        }
        this.value = Math.max(0, MAX - lost);
    }

    /**
     * The score of a node with no faults.
     *
     * @return a score of {@value #MAX}
     */
    public static HealthScore perfect() {
        return PERFECT;
    }

    /**
     * The score of a node with the given active faults.
     *
     * @param activeFaults the faults; at most one per component and location
     * @return the score
     * @throws IllegalArgumentException if two faults have the same component and location
     */
    public static HealthScore of(Collection<Fault> activeFaults) {
        List<Fault> sorted = new ArrayList<>(activeFaults);
        sorted.sort(ORDER);
        for (int i = 0; i < sorted.size(); i++) {
            for (int j = i + 1; j < sorted.size(); j++) {
                if (sorted.get(i).sameIdentity(sorted.get(j))) {
                    throw new IllegalArgumentException("two faults for " + sorted.get(i).component()
                            + " '" + sorted.get(i).location() + "'");
                }
            }
        }
        return sorted.isEmpty() ? PERFECT : new HealthScore(List.copyOf(sorted));
    }

    /**
     * The score, from 0 to {@value #MAX}.
     *
     * @return the value
     */
    public int value() {
        return value;
    }

    /**
     * The faults this score was computed from, heaviest first.
     *
     * @return an unmodifiable list
     */
    public List<Fault> faults() {
        return faults;
    }

    /**
     * Tells whether this node is healthier than another by at least {@code margin} points.
     *
     * @param other  the other node's score
     * @param margin how much better this one must be; not negative
     * @return true if {@code value() >= other.value() + margin} and the margin is not zero, or
     *         the margin is zero and this value is strictly higher
     * @throws IllegalArgumentException if the margin is negative
     */
    public boolean isHealthierThan(HealthScore other, int margin) {
        if (margin < 0) {
            throw new IllegalArgumentException("margin must not be negative, was " + margin);
        }
        int difference = value - other.value;
        return margin == 0 ? difference > 0 : difference >= margin;
    }

    /**
     * Tells whether any active fault is critical and not merely predicted.
     *
     * @return true if a function of the node is gone
     */
    public boolean hasCriticalFault() {
        for (Fault fault : faults) {
            if (fault.severity() == Severity.CRITICAL && !fault.predicted()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Tells whether a component at a location has an active fault that is not a prediction and
     * is at least as severe as given.
     *
     * @param component the component
     * @param location  its location
     * @param atLeast   the least severity that counts
     * @return true if such a fault is active
     */
    public boolean hasFault(Component component, String location, Severity atLeast) {
        for (Fault fault : faults) {
            if (fault.component() == component && fault.location().equals(location)
                    && !fault.predicted() && fault.severity().compareTo(atLeast) >= 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HealthScore that && faults.equals(that.faults);
    }

    @Override
    public int hashCode() {
        return faults.hashCode();
    }

    @Override
    public String toString() {
        return value + "/" + MAX + (faults.isEmpty() ? "" : " " + faults);
    }
}
