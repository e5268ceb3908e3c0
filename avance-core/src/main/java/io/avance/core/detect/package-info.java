/**
 * Failure detection, as pure classes driven by clock readings passed in.
 *
 * <p>{@link io.avance.core.detect.PhiAccrualDetector} turns heartbeat arrival times on one path
 * into a suspicion level that adapts to how regular the heartbeats have been: a peer whose
 * heartbeats jitter under load is given more time before it is suspected. The pair engine keeps
 * one per path and combines them with fixed floors and ceilings (see
 * {@link io.avance.api.failover.PairTimings}) that keep the isolation rule safe.
 *
 * <p>{@link io.avance.core.detect.PauseMonitor} notices that this node itself was frozen (a long
 * GC pause, a stopped process, a starved VM): a primary frozen longer than its peer's takeover
 * time must assume it was replaced and step down.
 */
package io.avance.core.detect;
