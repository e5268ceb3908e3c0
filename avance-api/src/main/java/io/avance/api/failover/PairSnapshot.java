package io.avance.api.failover;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a {@link FailoverPolicy} may base a decision on: the pair as one node sees it at
 * one moment. Durations are in nanoseconds of that node's monotonic clock.
 *
 * @param self                 this node, exactly
 * @param peer                 the peer as of its last heartbeat; empty if never heard
 * @param paths                the private link and every public network
 * @param peerSilenceNanos     time since the peer was last heard on any path; {@link Long#MAX_VALUE}
 *                             if never
 * @param peerAckAgeNanos      time since this node sent the latest heartbeat that the peer has
 *                             acknowledged hearing; the peer's takeover clock for this node cannot
 *                             have started earlier. {@link Long#MAX_VALUE} if never.
 * @param pauseNanos           how long this node's duty cycle was last frozen (a GC pause, a stopped
 *                             process), measured as the gap since its previous heartbeat was sent
 * @param sinceRoleChangeNanos time since this node's role last changed
 * @param peerIncidentAgesNanos ages of the incidents that needed the peer rebooted (crashes, split
 *                             links, serious faults), newest first; the policy estimates the peer's
 *                             MTBF from them
 * @param sinceRebootRequestNanos time since this node last asked the peer to reboot;
 *                             {@link Long#MAX_VALUE} if never
 * @param peerDeclaredDown     whether this node has declared the peer down
 * @param peerFenced           whether the peer was powered off through a fencing device
 * @param witness              what the quorum witness last answered this node
 * @param vms                  the VMs on this node
 * @param timings              the timing rules of the pair
 */
public record PairSnapshot(NodeView self, Optional<NodeView> peer, List<PathStatus> paths, long peerSilenceNanos,
                           long peerAckAgeNanos, long pauseNanos, long sinceRoleChangeNanos,
                           List<Long> peerIncidentAgesNanos, long sinceRebootRequestNanos, boolean peerDeclaredDown,
                           boolean peerFenced, WitnessStatus witness, List<VmStatus> vms, PairTimings timings) {

    /**
     * Validates and copies the fields.
     */
    public PairSnapshot {
        Objects.requireNonNull(self, "self");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(witness, "witness");
        Objects.requireNonNull(timings, "timings");
        paths = List.copyOf(paths);
        peerIncidentAgesNanos = List.copyOf(peerIncidentAgesNanos);
        vms = List.copyOf(vms);
        if (paths.stream().filter(path -> path.kind() == PathStatus.Kind.PRIVATE).count() != 1) {
            throw new IllegalArgumentException("a snapshot has exactly one private path: " + paths);
        }
    }

    /**
     * The private link.
     *
     * @return its status
     */
    public PathStatus privatePath() {
        for (PathStatus path : paths) {
            if (path.kind() == PathStatus.Kind.PRIVATE) {
                return path;
            }
        }
        throw new IllegalStateException("no private path");
    }

    /**
     * Tells whether heartbeats from the peer arrive on at least one path.
     *
     * @return true if any path has {@link PathStatus#peerAlive()}
     */
    public boolean peerReachable() {
        for (PathStatus path : paths) {
            if (path.peerAlive()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Tells whether this node's own connection to at least one public network is down. Without a
     * witness a backup takes over only when this is false: were one of its networks down, the
     * primary might still be serving on that network, unheard.
     *
     * @return true if some public network is not locally up
     */
    public boolean anyPublicNetworkDown() {
        for (PathStatus path : paths) {
            if (path.kind() == PathStatus.Kind.PUBLIC && !path.localUp()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Tells whether this node's own connection to every public network is down, so that it is
     * cut off from its clients (and, unless the private link works, from its peer).
     *
     * @return true if there is at least one public network and none is locally up; false if
     *         there are no public networks
     */
    public boolean allPublicNetworksDown() {
        boolean anyPublic = false;
        for (PathStatus path : paths) {
            if (path.kind() == PathStatus.Kind.PUBLIC) {
                anyPublic = true;
                if (path.localUp()) {
                    return false;
                }
            }
        }
        return anyPublic;
    }
}
