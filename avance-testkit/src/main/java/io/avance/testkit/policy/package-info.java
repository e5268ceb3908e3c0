/**
 * The contract every {@link io.avance.api.failover.FailoverPolicy} must keep, as jqwik
 * properties, and the tools to write more: a {@link io.avance.testkit.policy.SnapshotBuilder} for
 * hand-made pair snapshots and {@link io.avance.testkit.policy.PairArbitraries} for generated ones.
 *
 * <p>A product that supplies its own policy subclasses
 * {@link io.avance.testkit.policy.FailoverPolicyContract} in a few lines; Avance's default policy
 * runs through the same suite.
 */
package io.avance.testkit.policy;
