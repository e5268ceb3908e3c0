/**
 * What a node tells its listeners: role changes, decisions, faults, path and peer changes, and,
 * from the replication and VM layers, volume, resync, migration and VM events.
 *
 * <p>Every event is an immutable record implementing {@link io.avance.api.event.PairEvent}.
 * Listeners ({@link io.avance.api.event.PairListener}) are called on one engine thread, in the
 * order the events happened; a slow listener delays the others, so hand heavy work to your own
 * executor. An exception thrown by a listener is logged and does not stop the engine.
 */
package io.avance.api.event;
