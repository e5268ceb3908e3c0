package io.avance.api.hypervisor;

/**
 * Receives VM events from a hypervisor adapter.
 *
 * <p>Called on a thread of the adapter's; implementations must return quickly and must not call
 * back into the adapter from the callback.
 */
@FunctionalInterface
public interface VmEventListener {

    /**
     * Handles one event.
     *
     * @param event what happened
     */
    void onVmEvent(VmEvent event);
}
