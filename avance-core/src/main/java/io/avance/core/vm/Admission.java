package io.avance.core.vm;

import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import java.util.Collection;
import java.util.Optional;

/**
 * Admission control (rule 10): the VMs that should run must fit on the smaller of the two nodes,
 * so that either node can host all of them after a failover, a switchover or a rolling upgrade.
 * Virtual CPUs count one to one against physical cores, and memory against memory: a failover
 * must never find the survivor overcommitted. Pure and thread-safe.
 */
public final class Admission {

    private Admission() {
    }

    /**
     * Tells why a VM may not join the running ones, if it may not.
     *
     * @param running   the VMs that should run now (the candidate excluded)
     * @param candidate the VM to start
     * @param self      this node's resources
     * @param peer      the peer's, if known (a standalone node, or a peer never heard, has none)
     * @return empty if it fits; otherwise a sentence with the numbers
     */
    public static Optional<String> refusal(Collection<VmSpec> running, VmSpec candidate, HostResources self,
                                           Optional<HostResources> peer) {
        int cores = candidate.cores();
        long memory = candidate.memoryBytes();
        for (VmSpec vm : running) {
            if (!vm.name().equals(candidate.name())) {
                cores += vm.cores();
                memory += vm.memoryBytes();
            }
        }
        HostResources smaller = peer.map(p -> new HostResources(Math.min(p.cores(), self.cores()),
                Math.min(p.memoryBytes(), self.memoryBytes()))).orElse(self);
        String which = peer.isEmpty() ? "this node" : "the smaller node";
        if (cores > smaller.cores()) {
            return Optional.of("VM '" + candidate.name() + "' needs " + candidate.cores() + " cores: with it the running "
                    + "VMs need " + cores + ", and " + which + " has " + smaller.cores());
        }
        if (memory > smaller.memoryBytes()) {
            return Optional.of("VM '" + candidate.name() + "' needs " + mib(candidate.memoryBytes()) + " MiB: with it "
                    + "the running VMs need " + mib(memory) + " MiB, and " + which + " has "
                    + mib(smaller.memoryBytes()) + " MiB for guests");
        }
        return Optional.empty();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }
}
