package io.avance.core.monitor;

import java.util.Locale;

/**
 * What a monitor user may do.
 */
public enum Role {
    /** Sees everything, changes nothing. */
    VIEWER,
    /** Also switches over, enters and leaves maintenance, restarts VMs, acknowledges faults, downloads bundles. */
    OPERATOR,
    /** Also resolves split brains (which discards one node's changes). */
    ADMINISTRATOR;

    /**
     * Tells whether this role includes another.
     *
     * @param needed the role an action needs
     * @return true if this role may do what {@code needed} may
     */
    public boolean includes(Role needed) {
        return compareTo(needed) >= 0;
    }

    /**
     * The role's name in files and JSON.
     *
     * @return such as "operator"
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a role's label.
     *
     * @param text "viewer", "operator" or "administrator"
     * @return the role
     * @throws IllegalArgumentException for anything else
     */
    public static Role parse(String text) {
        for (Role role : values()) {
            if (role.label().equals(text)) {
                return role;
            }
        }
        throw new IllegalArgumentException("not a role: '" + text + "' (viewer, operator or administrator)");
    }
}
