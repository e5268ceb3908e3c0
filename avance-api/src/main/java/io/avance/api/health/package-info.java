/**
 * Faults and the health score of a node.
 *
 * <p>A {@link io.avance.api.health.Fault} names a {@link io.avance.api.health.Component} (and
 * where it is: {@code "sda"}, {@code "psu2"}, {@code "lan0"}) and a
 * {@link io.avance.api.health.Severity}. A node's active faults make its
 * {@link io.avance.api.health.HealthScore}; the pair fails over only to a node whose score is
 * better by a margin, so that noise cannot make the roles ping-pong. A <em>predicted</em> fault
 * (a trend heading for a threshold, or a component that fails too often) lowers the score
 * before the component dies, so the pair can move away from it gracefully.
 */
package io.avance.api.health;
