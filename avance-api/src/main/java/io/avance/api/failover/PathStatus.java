package io.avance.api.failover;

import java.util.Objects;

/**
 * One path between the two nodes, as one node sees it.
 *
 * <p>Heartbeats travel over the private link and over every public network, so that a dead
 * private link can be told apart from a dead peer.
 *
 * @param name        the path's name: {@code "private"}, or the public network's name
 * @param kind        private link or public network
 * @param localUp     for a public network: this node's own connection to it works (no critical
 *                    fault on it, its probe answers). For the private link: the authenticated
 *                    session is established.
 * @param peerLocalUp the peer's own view of the same network, from its last heartbeat
 * @param peerAlive   heartbeats from the peer arrive on this path, in the failure detector's
 *                    judgement
 * @param silenceNanos time since the peer was last heard on this path; {@link Long#MAX_VALUE}
 *                    if never
 */
public record PathStatus(String name, Kind kind, boolean localUp, boolean peerLocalUp, boolean peerAlive,
                         long silenceNanos) {

    /**
     * Validates the fields.
     */
    public PathStatus {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        if (silenceNanos < 0) {
            throw new IllegalArgumentException("silence must not be negative: " + silenceNanos);
        }
    }

    /** The kinds of path. */
    public enum Kind {
        /** The dedicated link between the nodes: replication, migration and control. */
        PRIVATE,
        /** A public network, which also carries the pair's health heartbeats. */
        PUBLIC
    }
}
