/**
 * Failover: what a node should do, decided from a snapshot of the pair.
 *
 * <p>A {@link io.avance.api.failover.FailoverPolicy} is a pure function from a
 * {@link io.avance.api.failover.PairSnapshot} (both nodes' health, which paths to the peer are
 * alive, time since the peer was last heard, epochs, data state, reboot history, the witness's
 * answer) to a {@link io.avance.api.failover.FailoverDecision}. It never reads a clock, a socket
 * or a file, which is what makes it property-testable. The engine evaluates it on every duty
 * cycle of each node, from that node's point of view, and carries out the decision.
 *
 * <h2>Epochs</h2>
 * Time is divided into numbered epochs. Each epoch has at most one primary, and a node serves
 * only in an epoch that its peer can no longer serve in: because the peer handed the epoch over,
 * promised not to serve in it, was fenced, or a {@link io.avance.api.failover.QuorumWitness}
 * granted it; or because the isolation rule guarantees the old primary has stopped itself.
 *
 * <h2>Safety does not depend on the policy</h2>
 * A custom policy chooses among actions; it cannot make the engine unsafe. The engine refuses a
 * takeover whose safety conditions do not hold, and stops a primary whose serving lease has run
 * out, whatever the policy answers.
 */
package io.avance.api.failover;
