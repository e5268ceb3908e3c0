/**
 * A node's health: its active faults, the failure history of each component, and the faults
 * predicted from that history and from trends in sensor readings.
 *
 * <p>The {@link io.avance.core.health.FaultRegistry} is the one place a node's faults live.
 * Embedding programs report hardware faults into it (a failed disk, a power supply, a NIC with
 * no carrier); the engine reports its own (a failed private link, a crashed VM). From it comes
 * the node's {@link io.avance.api.health.HealthScore}, which travels to the peer in every
 * heartbeat and drives graceful failover.
 *
 * <p>Two kinds of prediction lower the score before a component dies:
 * <ul>
 *   <li>a component whose estimated MTBF ({@link io.avance.core.health.MtbfEstimator}) falls
 *       below a threshold, because it keeps failing and recovering;</li>
 *   <li>a reading (a temperature, a fan speed, a count of reallocated sectors) whose trend
 *       ({@link io.avance.core.health.TrendPredictor}) will cross its failure threshold within
 *       the prediction horizon.</li>
 * </ul>
 */
package io.avance.core.health;
