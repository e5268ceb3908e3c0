package io.avance.api.failover;

/**
 * Carries out a reboot of this node when its primary asks for one (a serious backup fault, or a
 * private link that failed while both nodes run).
 *
 * <p>An appliance can reboot the machine. The engine's default restarts the node in process:
 * it drops every connection and volatile state and pairs again, which recovers the faults a
 * software reset can. The call may return before the reboot happens.
 */
@FunctionalInterface
public interface RebootHandler {

    /**
     * Reboots this node.
     *
     * @param reason why the primary asked
     */
    void reboot(String reason);
}
