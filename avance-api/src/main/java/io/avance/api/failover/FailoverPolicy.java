package io.avance.api.failover;

/**
 * Decides what one node of a pair should do now.
 *
 * <p>Implementations must be pure: the same snapshot always gives the same decision, and the
 * policy reads no clock, socket, file or random source. They must be thread-safe (stateless is
 * simplest) and fast: the engine calls them on every duty cycle, every few tens of
 * milliseconds. A policy that throws is treated as answering {@link FailoverDecision.Action#STAY},
 * and the exception is logged.
 */
@FunctionalInterface
public interface FailoverPolicy {

    /**
     * Decides what the node described as {@link PairSnapshot#self()} should do.
     *
     * @param snapshot the pair as that node sees it
     * @return the one action to take now; the engine asks again on its next cycle
     */
    FailoverDecision decide(PairSnapshot snapshot);
}
