/**
 * A deterministic simulation of a pair, in the manner of FoundationDB's simulator and
 * TigerBeetle's VOPR.
 *
 * <p>Two real {@link io.avance.core.pair.PairController}s run against a virtual clock and a
 * simulated network: a private link with TCP-like sessions, public networks with UDP-like loss
 * and delay (and, under the REPLAY fault, duplicated and replayed datagrams of earlier runs), a
 * quorum witness, crashes, restarts, freezes and NIC failures, all drawn from one
 * seed. After every event the simulation checks the safety rules (never two nodes serving at
 * once, never two primaries named for one epoch, never a graceful failover to a node that is not
 * healthier); after the faults heal, that exactly one primary serves. A failure names its seed,
 * and {@link io.avance.testkit.sim.PairSimulation#run} with that seed replays it exactly.
 */
package io.avance.testkit.sim;
