/**
 * VM supervision: the pair's VM definitions and the wish to run them, replicated to the peer and
 * persisted ({@link io.avance.core.vm.VmCatalog}); admission control so that the smaller node can
 * host every running VM ({@link io.avance.core.vm.Admission}); and the supervisor that starts VMs on
 * the primary, restarts crashed ones as the failover policy decides (rule 3), restarts every wanted
 * VM after a takeover (rule 7), and stops them when the node stops being primary
 * ({@link io.avance.core.vm.VmSupervisor}).
 */
package io.avance.core.vm;
