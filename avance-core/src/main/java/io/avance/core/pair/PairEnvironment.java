package io.avance.core.pair;

import io.avance.api.NodeId;
import io.avance.api.PairRole;
import io.avance.api.event.PairEvent;
import io.avance.api.failover.VmStatus;
import io.avance.api.replication.DataState;
import io.avance.core.wire.Message;
import java.time.Duration;
import java.util.List;

/**
 * Everything the {@link PairController} does to the world, and everything it asks of it.
 *
 * <p>Called only from the controller's owner thread. Implementations must not call back into the
 * controller synchronously; answers to asynchronous requests (a witness claim, a graceful
 * failover) come back through the controller's {@code on...} methods on the owner thread.
 */
public interface PairEnvironment {

    /**
     * Sends a message over the private link.
     *
     * @param message the message
     * @return false if there is no established session
     */
    boolean sendPrivate(Message message);

    /**
     * Sends a message over one public network (heartbeats and reboot requests only).
     *
     * @param network the network's name
     * @param message the message
     * @return false if the send failed
     */
    boolean sendPublic(String network, Message message);

    /**
     * Records the latest epoch and its primary durably; returns only when they would survive a
     * crash.
     *
     * @param state the state to persist
     * @throws RuntimeException if the write failed; the controller then does not act on the change
     */
    void persist(PersistedPairState state);

    /**
     * Tells listeners about an event.
     *
     * @param event the event
     */
    void publish(PairEvent event);

    /**
     * Appends an automatic action to the audit journal.
     *
     * @param action  what was done ("role", "takeover", "reboot-backup", ...)
     * @param detail  to what and why
     * @param outcome what came of it
     */
    void audit(String action, String detail, String outcome);

    /**
     * Reboots this node, because its primary asked. Returns at once; the reboot happens later.
     *
     * @param reason the primary's reason
     */
    void rebootSelf(String reason);

    /**
     * Powers the peer off through a fencing device, if there is one. Returns at once.
     *
     * @param peer the peer
     * @return false if no fencing device is available
     */
    boolean fencePeer(NodeId peer);

    /**
     * Claims (or renews) an epoch at the quorum witness. Returns at once; the answer comes to
     * {@link PairController#onWitnessAnswer}.
     *
     * @param epoch the epoch
     * @param lease how long to hold it
     */
    void claimWitness(long epoch, Duration lease);

    /**
     * Starts moving every VM to the peer before a graceful switchover. When done, the environment
     * calls {@link PairController#onReadyToHandOver}; on failure,
     * {@link PairController#onGracefulFailoverFailed}.
     *
     * @param peer the node taking over
     */
    void beginGracefulFailover(NodeId peer);

    /**
     * Restarts a crashed VM where it ran.
     *
     * @param vm the VM
     */
    void restartVm(String vm);

    /**
     * The node's role changed: start or stop serving.
     *
     * @param from  the old role
     * @param to    the new role
     * @param epoch the epoch now
     */
    void onRoleChanged(PairRole from, PairRole to, long epoch);

    /**
     * The VMs on this node, for the policy.
     *
     * @return their status
     */
    List<VmStatus> vms();

    /**
     * The state of this node's replicated data.
     *
     * @return the worst state over all volumes
     */
    DataState dataState();

    /**
     * Tells whether this node, as primary, has acknowledged writes its peer's copy lacks (it wrote
     * without the peer). Heartbeats carry the answer, so that the peer knows its copy is outdated.
     * Environments without replicated volumes keep the default.
     *
     * @return true while this node writes without its peer
     */
    default boolean writesWithoutPeer() {
        return false;
    }

    /**
     * The newest heartbeat from the primary says whether it writes without this node. Called
     * before this node's next heartbeat echoes that one: once the primary sees the echo, it may
     * rely on this node knowing its copy is outdated.
     *
     * @param degraded the peer's flag
     */
    default void onPeerWritesWithoutThisNode(boolean degraded) {
    }

    /**
     * The peer has been silent longer than any takeover by this node could have waited: the peer
     * may since have acknowledged writes this node's copy lacks, so the copy no longer counts as
     * up to date.
     */
    default void onPeerSilentTooLong() {
    }

    /**
     * The private link has carried nothing for the detection minimum while its connection still
     * looks open (a cut cable is noticed by TCP only after its own, much longer, timeouts). Whatever
     * waits on the link's bulk channels will not be answered: replicated writes waiting for the
     * peer's acknowledgement go on without it, under the degraded fence, rather than waiting for
     * {@code replication.ack-timeout}. The node drops every session of the link, the control one
     * too (a peer that lost power comes back without it), and dials afresh. Called once per
     * silence, on the owner thread.
     *
     * @param reason why, for the log
     */
    default void onPrivateLinkSilent(String reason) {
    }
}
