package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;

/**
 * The contract suites again, on the simulated hypervisor with a native migration stream
 * ({@link StreamingSimulatedHypervisor}): this is where {@link NativeMigrationContract} runs its
 * tests instead of aborting them, so that the suite the Xen binding will run is known to pass for
 * a correct adapter.
 */
class StreamingHypervisorContractTest extends SimulatedHypervisorContractTest {

    @Override
    public HypervisorAdapter createAdapter() {
        return new StreamingSimulatedHypervisor(new SimulatedHypervisor(new HostResources(4, 2L << 30)));
    }
}
