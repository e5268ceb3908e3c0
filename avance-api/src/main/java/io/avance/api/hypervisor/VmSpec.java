package io.avance.api.hypervisor;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a VM is: its name, virtual CPUs, memory, disks and networks.
 *
 * <p>Immutable and thread-safe. Validation names the field and the bad value.
 *
 * @param name        1-64 characters of letters, digits, {@code . _ -}
 * @param cores       virtual CPUs, at least 1
 * @param memoryBytes guest memory, a positive multiple of 1 MiB
 * @param disks       the VM's disks; each is a replicated volume
 * @param networks    the public networks the VM is attached to
 * @param options     adapter-specific settings (a kernel path for Xen PVH, the guest program of
 *                    the simulated hypervisor); adapters reject keys they do not know
 */
public record VmSpec(String name, int cores, long memoryBytes, List<Disk> disks, List<Network> networks,
                     Map<String, String> options) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final long MIB = 1L << 20;

    /**
     * Validates and copies the fields.
     *
     * @throws IllegalArgumentException naming the field and the bad value
     */
    public VmSpec {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("VM name '" + name
                    + "' must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit");
        }
        if (cores < 1 || cores > 512) {
            throw new IllegalArgumentException("VM '" + name + "': cores must be 1-512, was " + cores);
        }
        if (memoryBytes <= 0 || memoryBytes % MIB != 0) {
            throw new IllegalArgumentException("VM '" + name
                    + "': memory must be a positive multiple of 1 MiB, was " + memoryBytes);
        }
        disks = List.copyOf(disks);
        networks = List.copyOf(networks);
        options = Map.copyOf(options);
        long distinctDisks = disks.stream().map(Disk::volume).distinct().count();
        if (distinctDisks != disks.size()) {
            throw new IllegalArgumentException("VM '" + name + "': a volume is attached twice: " + disks);
        }
    }

    /**
     * The total memory, in MiB.
     *
     * @return memory divided by 1 MiB
     */
    public long memoryMib() {
        return memoryBytes / MIB;
    }

    /**
     * An option's value.
     *
     * @param key the option
     * @return its value, if set
     */
    public Optional<String> option(String key) {
        return Optional.ofNullable(options.get(key));
    }

    /**
     * One disk of a VM: a replicated volume.
     *
     * @param volume    the volume's name
     * @param sizeBytes its size, a positive multiple of 4096
     * @param spindles  how many physical disks back it (the product's measure of disk
     *                  redundancy and I/O capacity), at least 1
     */
    public record Disk(String volume, long sizeBytes, int spindles) {

        /**
         * Validates the fields.
         *
         * @throws IllegalArgumentException naming the field and the bad value
         */
        public Disk {
            Objects.requireNonNull(volume, "volume");
            if (!NAME.matcher(volume).matches()) {
                throw new IllegalArgumentException("disk volume name '" + volume + "' is not a valid name");
            }
            if (sizeBytes <= 0 || sizeBytes % 4096 != 0) {
                throw new IllegalArgumentException("disk '" + volume
                        + "': size must be a positive multiple of 4096, was " + sizeBytes);
            }
            if (spindles < 1) {
                throw new IllegalArgumentException("disk '" + volume + "': spindles must be at least 1, was "
                        + spindles);
            }
        }
    }

    /**
     * One network attachment of a VM.
     *
     * @param network    the public network's name, as configured on the node
     * @param macAddress the VM's MAC address on it, if fixed ({@code 52:54:00:12:34:56})
     */
    public record Network(String network, Optional<String> macAddress) {

        private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");

        /**
         * Validates the fields.
         *
         * @throws IllegalArgumentException naming the field and the bad value
         */
        public Network {
            Objects.requireNonNull(network, "network");
            Objects.requireNonNull(macAddress, "macAddress");
            if (!NAME.matcher(network).matches()) {
                throw new IllegalArgumentException("network name '" + network + "' is not a valid name");
            }
            macAddress.ifPresent(mac -> {
                if (!MAC.matcher(mac).matches()) {
                    throw new IllegalArgumentException("network '" + network + "': MAC address '" + mac
                            + "' must look like 52:54:00:12:34:56");
                }
            });
        }
    }
}
