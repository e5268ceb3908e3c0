/**
 * A quorum witness over the network: a small service on a third machine that breaks ties
 * between the two nodes of a pair, and the client a node uses to reach it.
 *
 * <p>The witness records one epoch, its holder, and when the holder's lease ends (see
 * {@link io.avance.api.failover.QuorumWitness} for the rule). With a witness, a pair stays safe
 * even when every path between two running nodes fails. Claims and answers are single UDP
 * datagrams authenticated with the pair's secret (the same format as public-network heartbeats).
 * The recorded epoch and holder are persisted before any answer, and a restarted witness treats
 * the recorded holder's lease as running for the longest lease it grants, so a witness restart
 * can never grant a second primary.
 */
package io.avance.core.witness;
