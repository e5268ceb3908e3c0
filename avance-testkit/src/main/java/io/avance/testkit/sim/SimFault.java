package io.avance.testkit.sim;

/**
 * One fault injected into a simulation: what, where, when and for how long.
 *
 * @param kind          what
 * @param node          which node (0 or 1), where it applies
 * @param network       which public network, where it applies
 * @param startNanos    when it starts, in simulated time
 * @param durationNanos how long it lasts
 * @param magnitude     the loss probability, the extra delay in nanoseconds, or the severity
 *                      (0 minor, 1 major, 2 critical), depending on the kind
 */
public record SimFault(Kind kind, int node, int network, long startNanos, long durationNanos, double magnitude) {

    /** The kinds of fault. */
    public enum Kind {
        /** The node's process dies; it restarts when the fault ends. */
        CRASH,
        /** The node's process is frozen (a GC pause, SIGSTOP); it resumes when the fault ends. */
        PAUSE,
        /** The private link's cable is cut. */
        CUT_PRIVATE_LINK,
        /** One of the node's public NICs fails; the node sees a critical network fault. */
        NIC_DOWN,
        /** The node loses the private link and every public NIC. */
        ISOLATE,
        /** Random packet loss on every path. */
        LOSS,
        /** Extra delay on every path. */
        DELAY,
        /** A hardware fault (disk, fan, power supply) of some severity on the node. */
        HEALTH,
        /** The node cannot reach the witness. */
        WITNESS_DOWN,
        /** Every path between the nodes is cut while both keep their networks (needs a witness). */
        PARTITION,
        /**
         * The public networks deliver datagrams again: duplicates of live ones, and replays of any
         * recorded earlier, from earlier runs of the nodes too (a faulty switch, or an attacker
         * who captured them). Authenticated, so nothing else can be forged.
         */
        REPLAY
    }

    @Override
    public String toString() {
        return String.format("%s(node %d, net %d) at %.3fs for %.3fs%s", kind, node, network, startNanos / 1e9,
                durationNanos / 1e9, magnitude == 0 ? "" : String.format(", magnitude %.3g", magnitude));
    }
}
