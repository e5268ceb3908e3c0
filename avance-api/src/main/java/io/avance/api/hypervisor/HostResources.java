package io.avance.api.hypervisor;

/**
 * What a node can give its VMs.
 *
 * @param cores       physical cores available to guests
 * @param memoryBytes memory available to guests, after the hypervisor and the engine
 */
public record HostResources(int cores, long memoryBytes) {

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException if a value is negative
     */
    public HostResources {
        if (cores < 0 || memoryBytes < 0) {
            throw new IllegalArgumentException("host resources must not be negative: " + cores + " cores, "
                    + memoryBytes + " bytes");
        }
    }
}
