/**
 * The audit journal: every automatic action of the engine (and, later, every operator action),
 * with who, what, when and the outcome, appended to a file in the node's data directory.
 *
 * <p>Entries are JSON lines, written and fsynced by a thread of the journal's own so that a slow
 * disk never stalls the engine's duty cycle.
 */
package io.avance.core.journal;
