/**
 * The Avance contract: the types an embedding program, an adapter author or a custom policy
 * writer programs against.
 *
 * <p>This module depends on nothing but the JDK. The engine ({@code avance-core}), the Xen
 * binding, the testkit and the examples depend on it, never the other way round.
 * Implementations are passed in by the embedding program or found through
 * {@link java.util.ServiceLoader}.
 *
 * <p>The root package holds the identities every other package uses: {@link io.avance.api.NodeId}
 * and {@link io.avance.api.PairRole}. Each sub-package holds one concept:
 * <ul>
 *   <li>{@code health}: faults, severities and the health score of a node;</li>
 *   <li>{@code failover}: the failover policy, the snapshot it decides on, its decisions, and
 *       the optional quorum witness;</li>
 *   <li>{@code replication}: synchronous block replication of volumes;</li>
 *   <li>{@code migration}: live migration of guest memory;</li>
 *   <li>{@code hypervisor}: the SPI a hypervisor implements, and VM descriptions;</li>
 *   <li>{@code event}: what listeners are told.</li>
 * </ul>
 */
package io.avance.api;
