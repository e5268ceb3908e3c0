package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * What the hypervisor contract suites need from an adapter author: how to make the adapter, what
 * VM it can boot, and, optionally, how to look into a guest. Implemented by a subclass of
 * {@link HypervisorAdapterContract} (which then runs every suite), or handed to one suite by
 * {@link HypervisorContractSupport#underTest()}.
 *
 * <p>Only {@link #createAdapter()} and {@link #vmSpec(String)} are required. The hooks that look
 * into a guest make the suites stronger where the adapter can offer them; where it cannot, the
 * tests that depend on them are reported as aborted by assumption, never as passed.
 */
public interface AdapterUnderTest {

    /**
     * A new adapter, not yet opened: the suite probes it (a test aborts by assumption if the
     * adapter is not available here), opens it with {@link #context} and closes it with
     * {@link #closeAdapter} after the test.
     *
     * @return a fresh adapter
     */
    HypervisorAdapter createAdapter();

    /**
     * The adapter of the "other node" of a migration test. For a hypervisor that cannot run two
     * adapters in one process, return a second connection to the same hypervisor: the target VM
     * then lives next to the source for a moment, as in a local migration.
     *
     * @return a fresh adapter, not yet opened; by default another {@link #createAdapter()}
     */
    default HypervisorAdapter createPeerAdapter() {
        return createAdapter();
    }

    /**
     * The context an adapter is opened with.
     *
     * @param node           {@code tck-source} for the adapter of {@link #createAdapter()},
     *                       {@code tck-target} for the peer's
     * @param stateDirectory an empty directory for this adapter, deleted after the test
     * @return the context; by default one that resolves no disks (fine for VMs without disks)
     */
    default HypervisorContext context(NodeId node, Path stateDirectory) {
        return new SimpleHypervisorContext(node, stateDirectory);
    }

    /**
     * A small VM this adapter can boot and that keeps running until told otherwise: for Xen, a
     * 128 MiB PVH guest without disks; for the simulated hypervisor, a kv guest. Called again
     * with the same name within a test, it must return an equal spec.
     *
     * @param name the VM's name, chosen by the suite (unique per test)
     * @return the spec
     */
    VmSpec vmSpec(String name);

    /**
     * How long a VM may take to boot, to reboot, to stop, or to be seen alive after a migration;
     * also the deadline of every event the suites wait for.
     *
     * @return the deadline; 60 s by default
     */
    default Duration bootTimeout() {
        return Duration.ofSeconds(60);
    }

    /**
     * Makes the guest die abruptly (a kernel panic, a killed device model), so that the adapter
     * reports it as CRASHED.
     *
     * @param adapter the adapter the VM runs on
     * @param vm      the VM
     * @return false if this adapter has no way to crash a guest: the crash tests then abort by
     *         assumption (the default)
     */
    default boolean crash(HypervisorAdapter adapter, String vm) {
        return false;
    }

    /**
     * Tells whether the guest runs and answers, beyond what the hypervisor reports: for example a
     * request to a service in the guest. Polled until true or {@link #bootTimeout()}.
     *
     * @param adapter the adapter the VM runs on
     * @param vm      the VM
     * @return true if the guest is alive; by default, whether the adapter reports it RUNNING
     */
    default boolean guestIsAlive(HypervisorAdapter adapter, String vm) {
        return adapter.info(vm).map(VmInfo::state).orElse(null) == VmState.RUNNING;
    }

    /**
     * Has the guest change its own state (write memory, serve requests), so that there is state
     * to migrate. Called with the VM running.
     *
     * @param adapter the adapter the VM runs on
     * @param vm      the VM
     */
    default void exerciseGuest(HypervisorAdapter adapter, String vm) {
    }

    /**
     * A fingerprint of the guest's own state (for the kv guest: its key count, last sequence
     * number and boot id), read while the VM is paused and again after it has been migrated:
     * the two must be equal.
     *
     * @param adapter the adapter the VM runs on
     * @param vm      the VM, paused or running
     * @return the fingerprint, or empty if the adapter cannot tell (the default); the state
     *         comparison is then skipped, and the migration tests check only that the guest runs
     */
    default Optional<String> guestState(HypervisorAdapter adapter, String vm) {
        return Optional.empty();
    }

    /**
     * Closes an adapter after a test, once the suite has destroyed and undefined the VMs it
     * created.
     *
     * @param adapter an adapter this suite opened
     */
    default void closeAdapter(HypervisorAdapter adapter) {
        adapter.close();
    }
}
