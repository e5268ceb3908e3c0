package io.avance.core.config;

import io.avance.api.hypervisor.VmSpec;
import java.util.Objects;

/**
 * A VM the configuration file defines ({@code vm.NAME.*}); the primary puts it in the pair's VM
 * catalog when it takes the role, if the catalog lacks it or holds another definition.
 *
 * @param spec  the VM ({@code vm.NAME.cores}, {@code .memory}, {@code .disks}, {@code .networks},
 *              {@code .option.KEY})
 * @param start whether it should run ({@code vm.NAME.start}, default true)
 */
public record VmConfig(VmSpec spec, boolean start) {

    /**
     * Validates the fields.
     */
    public VmConfig {
        Objects.requireNonNull(spec, "spec");
    }
}
