package io.avance.api.event;

/**
 * Receives a node's events.
 */
@FunctionalInterface
public interface PairListener {

    /**
     * Handles one event. Called on an engine thread; return quickly.
     *
     * @param event what happened
     */
    void onEvent(PairEvent event);
}
