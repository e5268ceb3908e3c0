package io.avance.api.health;

import java.util.Objects;

/**
 * One fault of one component of a node.
 *
 * <p>A fault is identified by its component and location: a node has at most one active fault
 * for {@code (DISK, "sda")}. Raising it again replaces the earlier one (a fault may grow worse,
 * or a prediction may come true).
 *
 * <p>Immutable and thread-safe.
 *
 * @param component   the failing part
 * @param location    which one of its kind: a device, slot, network or VM name; 1-64 characters
 * @param severity    how much it hurts the node
 * @param predicted   true if the component still works but is expected to fail (a trend, or a
 *                    failure rate above a threshold); a predicted fault weighs half as much
 * @param description what an operator should read; at most 256 characters
 */
public record Fault(Component component, String location, Severity severity, boolean predicted,
                   String description) {

    /** Longest location, in characters. */
    public static final int MAX_LOCATION_LENGTH = 64;
    /** Longest description, in characters. */
    public static final int MAX_DESCRIPTION_LENGTH = 256;

    /**
     * Validates the fields.
     *
     * @throws NullPointerException     if any field is null
     * @throws IllegalArgumentException if the location is empty or a text is too long
     */
    public Fault {
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(description, "description");
        if (location.isEmpty() || location.length() > MAX_LOCATION_LENGTH) {
            throw new IllegalArgumentException("fault location must be 1-" + MAX_LOCATION_LENGTH
                    + " characters, was '" + location + "'");
        }
        if (description.length() > MAX_DESCRIPTION_LENGTH) {
            throw new IllegalArgumentException("fault description must be at most "
                    + MAX_DESCRIPTION_LENGTH + " characters, was " + description.length());
        }
    }

    /**
     * A fault that has happened.
     *
     * @param component   the failing part
     * @param location    which one
     * @param severity    how much it hurts
     * @param description what an operator should read
     * @return the fault
     */
    public static Fault of(Component component, String location, Severity severity, String description) {
        return new Fault(component, location, severity, false, description);
    }

    /**
     * A fault that is expected to happen.
     *
     * @param component   the part expected to fail
     * @param location    which one
     * @param severity    how much the failure would hurt
     * @param description why it is expected
     * @return the predicted fault
     */
    public static Fault predicted(Component component, String location, Severity severity, String description) {
        return new Fault(component, location, severity, true, description);
    }

    /**
     * The points this fault takes off a health score.
     *
     * @return the severity's weight, halved for a prediction
     */
    public int weight() {
        return predicted ? severity.predictedWeight() : severity.weight();
    }

    /**
     * Tells whether this fault and another concern the same component at the same location.
     *
     * @param other another fault
     * @return true if they have the same identity
     */
    public boolean sameIdentity(Fault other) {
        return component == other.component && location.equals(other.location);
    }
}
