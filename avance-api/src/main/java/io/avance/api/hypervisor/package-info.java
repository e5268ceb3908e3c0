/**
 * The SPI each hypervisor implements, and the description of a VM.
 *
 * <p>A {@link io.avance.api.hypervisor.HypervisorAdapter} runs VMs described by
 * {@link io.avance.api.hypervisor.VmSpec} on one node. The engine calls it to define, start,
 * stop, pause and resume VMs, listens to its {@link io.avance.api.hypervisor.VmEvent}s, and
 * moves VMs between nodes either through guest-memory access (the engine's own pre-copy) or
 * through the hypervisor's native migration stream, as its
 * {@link io.avance.api.hypervisor.Capability capabilities} allow. It is also where the engine
 * finds a {@link io.avance.api.hypervisor.PeerFencer} when the hardware can power the peer off.
 *
 * <p>Adapter authors check their work with the contract suites in {@code avance-testkit}.
 */
package io.avance.api.hypervisor;
