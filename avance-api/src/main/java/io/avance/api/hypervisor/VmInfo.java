package io.avance.api.hypervisor;

/**
 * What a hypervisor reports about one VM.
 *
 * @param name        the VM's name
 * @param state       its state
 * @param cores       virtual CPUs
 * @param memoryBytes memory assigned
 * @param hypervisorId the hypervisor's own handle for it (a Xen domain id), for logs
 */
public record VmInfo(String name, VmState state, int cores, long memoryBytes, String hypervisorId) {
}
