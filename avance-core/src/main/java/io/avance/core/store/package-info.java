/**
 * Small durable files: written whole, atomically, and fsynced, so that a crash at any moment
 * leaves either the old content or the new, never a mix.
 *
 * <p>The pair's role and epoch live here: a node that promised its peer not to serve in an epoch
 * must still know that after a crash, or two nodes could serve at once.
 */
package io.avance.core.store;
