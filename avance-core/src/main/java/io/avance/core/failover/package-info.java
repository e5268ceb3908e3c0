/**
 * The default failover policy: rules 1 to 8 of the design, as one pure function.
 *
 * <p>{@link io.avance.core.failover.DefaultFailoverPolicy} reads nothing but its
 * {@link io.avance.api.failover.PairSnapshot} and its {@link io.avance.core.failover.PolicyConfig},
 * which is what lets the testkit check every rule as a property over generated snapshots and
 * fault sequences.
 */
package io.avance.core.failover;
