/**
 * The node an embedding program builds: {@link io.avance.core.node.AvanceNode}.
 *
 * <p>It ties the pieces together: the configuration, the persisted epoch, the private link and
 * public-network channels, the agent thread running the pair controller, the fault registry, the
 * audit journal, metrics and listeners.
 */
package io.avance.core.node;
