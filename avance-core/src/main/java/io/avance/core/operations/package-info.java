/**
 * The operations services that run beside a node, started and stopped together:
 * {@link io.avance.core.operations.Operations} builds the monitor, e-mail alerts, call home,
 * the availability record, the diagnostic bundle and the virtual addresses from the node's
 * configuration, and feeds them the node's events. An embedding program (or {@code avance node})
 * starts one after {@link io.avance.core.node.AvanceNode#start()}.
 */
package io.avance.core.operations;
