package io.avance.core.pair;

import io.avance.api.PairRole;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The legal moves between {@link PairRole}s.
 *
 * <pre>
 *   from \ to     UNDECIDED PRIMARY BACKUP ISOLATED STOPPED
 *   UNDECIDED         -        x       x       x        x
 *   PRIMARY           -        -       x       x        x
 *   BACKUP            x        x       -       x        x
 *   ISOLATED          x        x       x       -        x
 *   STOPPED           -        -       -       -        -
 * </pre>
 * PRIMARY to BACKUP is a graceful handover; PRIMARY never goes straight back to UNDECIDED (a
 * reboot of a primary stops it first). A BACKUP goes to UNDECIDED when its primary asks it to
 * reboot. STOPPED is final.
 */
final class RoleStateMachine {

    private static final Map<PairRole, Set<PairRole>> LEGAL = new EnumMap<>(PairRole.class);

    static {
        LEGAL.put(PairRole.UNDECIDED, EnumSet.of(PairRole.PRIMARY, PairRole.BACKUP, PairRole.ISOLATED,
                PairRole.STOPPED));
        LEGAL.put(PairRole.PRIMARY, EnumSet.of(PairRole.BACKUP, PairRole.ISOLATED, PairRole.STOPPED));
        LEGAL.put(PairRole.BACKUP, EnumSet.of(PairRole.UNDECIDED, PairRole.PRIMARY, PairRole.ISOLATED,
                PairRole.STOPPED));
        LEGAL.put(PairRole.ISOLATED, EnumSet.of(PairRole.UNDECIDED, PairRole.PRIMARY, PairRole.BACKUP,
                PairRole.STOPPED));
        LEGAL.put(PairRole.STOPPED, EnumSet.noneOf(PairRole.class));
    }

    private RoleStateMachine() {
    }

    static boolean legal(PairRole from, PairRole to) {
        return LEGAL.get(from).contains(to);
    }
}
