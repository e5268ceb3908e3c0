/**
 * The pair engine: the state machine that pairs two nodes, elects a primary, exchanges health,
 * detects failures, and carries out the failover policy's decisions.
 *
 * <p>{@link io.avance.core.pair.PairController} is the protocol logic. It has one owner thread,
 * takes every clock reading as a parameter, and reaches the world only through a
 * {@link io.avance.core.pair.PairEnvironment}: that is what lets the testkit run two of them in a
 * seeded, deterministic simulation. {@link io.avance.core.pair.PairAgent} is its production
 * owner: a duty-cycle thread that ticks it and hands it what the Netty event loops decode.
 *
 * <h2>Safety rules the controller enforces whatever the policy says</h2>
 * <ul>
 *   <li>An epoch is claimed only with the peer's persisted promise, a witness grant, or, when the
 *       peer has been silent on every path for the detection minimum, unilaterally; a unilateral
 *       claim uses only epoch numbers of the claimant's own parity, so two unilateral claims can
 *       never name the same epoch.</li>
 *   <li>Every epoch change is persisted before it is acted on or acknowledged.</li>
 *   <li>A primary serves only while its serving lease holds: the lease runs out on its own if
 *       the duty cycle freezes, and when the peer stops confirming it while it is cut off from every
 *       public network (or holds no witness lease, if there is a witness), always before the peer's
 *       earliest takeover.</li>
 * </ul>
 */
package io.avance.core.pair;
