/**
 * Managing the pair's VMs as an embedding program, the command line or the monitor sees them:
 * {@link io.avance.api.vm.VmManager} defines, starts, stops and restarts VMs on the pair (they run
 * on the primary and move with it), and reports each as a {@link io.avance.api.vm.ManagedVm}.
 *
 * <p>The definitions are replicated: both nodes know every VM, so that after a takeover the new
 * primary restarts the VMs that should run. Admission control keeps the set of running VMs within
 * what the smaller of the two nodes can host.
 */
package io.avance.api.vm;
