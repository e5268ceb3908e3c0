/**
 * The Avance testkit: what an adapter author, a policy author or an embedding program uses to
 * test against Avance, and what Avance's own tests are built on.
 *
 * <ul>
 *   <li>{@code sim}: a seeded, deterministic simulation of a whole pair (virtual clock, simulated
 *       links with loss, delay and partitions, crashes and pauses) that checks the safety rules
 *       after every event and replays any failure from its seed;</li>
 *   <li>{@code policy}: the contract suite every {@link io.avance.api.failover.FailoverPolicy}
 *       must pass, as jqwik properties, and arbitraries for pair snapshots;</li>
 *   <li>{@code net}: a fault-injecting TCP proxy for cutting real links;</li>
 *   <li>{@code process}: real node processes, started and SIGKILLed by tests.</li>
 * </ul>
 */
package io.avance.testkit;
