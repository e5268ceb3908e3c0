package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle every {@link HypervisorAdapter} must get right: define, start, pause, resume,
 * shut down, start again, destroy, undefine; listing; refusals that say what was wrong.
 *
 * <p>Subclass it with {@link #underTest()} returning your hooks, or run it with every other suite
 * through {@link HypervisorAdapterContract}.
 */
public abstract class LifecycleContract extends HypervisorContractSupport {

    /** Name, probe, resources and capabilities agree with what the adapter does. */
    @Test
    void describesItselfConsistently() {
        HypervisorAdapter adapter = adapter();
        assertNotNull(adapter.name(), "name()");
        assertFalse(adapter.name().isBlank(), "name() must say which hypervisor this is");
        assertTrue(adapter.probe().available(), "probe() of an opened adapter");
        HostResources resources = adapter.hostResources();
        assertNotNull(resources, "hostResources()");
        assertTrue(resources.cores() >= 1, () -> "a node with no cores for guests: " + resources);
        assertTrue(resources.memoryBytes() > 0, () -> "a node with no memory for guests: " + resources);
        Set<Capability> capabilities = adapter.capabilities();
        assertNotNull(capabilities, "capabilities()");
        if (!capabilities.contains(Capability.NATIVE_MIGRATION)) {
            assertThrows(UnsupportedOperationException.class, adapter::nativeMigration,
                    "nativeMigration() without NATIVE_MIGRATION");
        } else {
            assertNotNull(adapter.nativeMigration(), "nativeMigration() with NATIVE_MIGRATION");
        }
        assertNotNull(adapter.fencer(), "fencer()");
        assertEquals(capabilities.contains(Capability.FENCING), adapter.fencer().isPresent(),
                "fencer() must be present exactly when FENCING is a capability");
    }

    /** The whole life of a VM, with the state the adapter reports at each step. */
    @Test
    void aVmGoesThroughItsWholeLifecycle() {
        HypervisorAdapter adapter = adapter();
        String vm = newVmName("life");
        VmSpec spec = spec(vm);
        adapter.define(spec);
        VmInfo defined = info(adapter, vm);
        assertEquals(VmState.DEFINED, defined.state(), "a VM defined and never started");
        assertEquals(vm, defined.name());

        adapter.start(vm);
        VmInfo running = info(adapter, vm);
        assertEquals(VmState.RUNNING, running.state(), "start returns when the VM runs");
        assertEquals(spec.cores(), running.cores(), "virtual CPUs of the running VM");
        assertEquals(spec.memoryBytes(), running.memoryBytes(), "memory of the running VM");
        assertNotNull(running.hypervisorId(), "the hypervisor's id for the VM");
        awaitAlive(adapter, vm);

        if (adapter.capabilities().contains(Capability.PAUSE)) {
            adapter.pause(vm);
            assertEquals(VmState.PAUSED, info(adapter, vm).state(), "after pause");
            adapter.resume(vm);
            assertEquals(VmState.RUNNING, info(adapter, vm).state(), "after resume");
            awaitAlive(adapter, vm);
        }

        adapter.shutdown(vm);
        assertEquals(VmState.STOPPED, info(adapter, vm).state(), "shutdown returns when the VM has stopped");

        adapter.start(vm);
        assertEquals(VmState.RUNNING, info(adapter, vm).state(), "a stopped VM starts again");
        awaitAlive(adapter, vm);

        adapter.destroy(vm);
        assertEquals(VmState.STOPPED, info(adapter, vm).state(), "after destroy");

        adapter.undefine(vm);
        assertTrue(adapter.info(vm).isEmpty(), () -> "an undefined VM is still known: " + adapter.info(vm));
        assertTrue(adapter.list().stream().noneMatch(i -> i.name().equals(vm)),
                () -> "an undefined VM is still listed: " + adapter.list());
    }

    /** list() shows every VM defined here, with its state, and nothing twice. */
    @Test
    void listShowsEveryDefinedVmWithItsState() {
        HypervisorAdapter adapter = adapter();
        String idle = newVmName("list");
        adapter.define(spec(idle));
        String running = startNewVm(adapter, "list");

        List<VmInfo> list = adapter.list();
        Map<String, VmState> states = new HashMap<>();
        for (VmInfo info : list) {
            assertTrue(states.put(info.name(), info.state()) == null, () -> "listed twice: " + info.name()
                    + " in " + list);
        }
        assertEquals(VmState.DEFINED, states.get(idle), () -> "list() " + list);
        assertEquals(VmState.RUNNING, states.get(running), () -> "list() " + list);
        assertEquals(info(adapter, running), list.stream().filter(i -> i.name().equals(running)).findFirst()
                .orElseThrow(), "list() and info() disagree");
    }

    /** Defining a VM again with the same spec does nothing, even while it runs. */
    @Test
    void definingTheSameSpecAgainChangesNothing() {
        HypervisorAdapter adapter = adapter();
        String vm = newVmName("twice");
        adapter.define(spec(vm));
        adapter.define(spec(vm));
        assertEquals(VmState.DEFINED, info(adapter, vm).state());
        adapter.start(vm);
        adapter.define(spec(vm));
        assertEquals(VmState.RUNNING, info(adapter, vm).state(), "a define of the same spec stopped the VM");
        assertEquals(1, adapter.list().stream().filter(i -> i.name().equals(vm)).count(),
                () -> "defined twice, listed " + adapter.list());
    }

    /** Another spec under a name in use is refused, naming the VM, and the first spec stays. */
    @Test
    void anotherSpecUnderAnExistingNameIsRefused() {
        HypervisorAdapter adapter = adapter();
        String vm = newVmName("clash");
        VmSpec spec = spec(vm);
        adapter.define(spec);
        VmSpec other = new VmSpec(vm, spec.cores(), spec.memoryBytes() + (1 << 20), spec.disks(), spec.networks(),
                spec.options());
        assertRefused(vm, () -> adapter.define(other), "define of another spec under the name " + vm);
        adapter.start(vm);
        assertEquals(spec.memoryBytes(), info(adapter, vm).memoryBytes(), "the first spec must stay in force");
    }

    /** An option key the adapter does not know is refused by define, naming the key. */
    @Test
    void unknownOptionsAreRefused() {
        HypervisorAdapter adapter = adapter();
        String vm = newVmName("option");
        VmSpec spec = spec(vm);
        Map<String, String> options = new HashMap<>(spec.options());
        options.put("avance.tck.no-such-option", "1");
        VmSpec odd = new VmSpec(vm, spec.cores(), spec.memoryBytes(), spec.disks(), spec.networks(), options);
        assertRefused("avance.tck.no-such-option", () -> adapter.define(odd), "define with an unknown option");
        assertTrue(adapter.info(vm).isEmpty(), () -> "a refused spec was defined: " + adapter.info(vm));
    }

    /** Every operation on a VM the adapter does not know fails with a message naming it. */
    @Test
    void operationsOnUnknownVmsFailNamingTheVm() {
        HypervisorAdapter adapter = adapter();
        String vm = newVmName("ghost");
        assertTrue(adapter.info(vm).isEmpty(), "info of an unknown VM must be empty");
        assertRefused(vm, () -> adapter.start(vm), "start of an unknown VM");
        assertRefused(vm, () -> adapter.shutdown(vm), "shutdown of an unknown VM");
        assertRefused(vm, () -> adapter.destroy(vm), "destroy of an unknown VM");
        assertRefused(vm, () -> adapter.undefine(vm), "undefine of an unknown VM");
        if (adapter.capabilities().contains(Capability.PAUSE)) {
            assertRefused(vm, () -> adapter.pause(vm), "pause of an unknown VM");
            assertRefused(vm, () -> adapter.resume(vm), "resume of an unknown VM");
        }
        if (adapter.capabilities().contains(Capability.REBOOT)) {
            assertRefused(vm, () -> adapter.reboot(vm), "reboot of an unknown VM");
        }
        if (adapter.capabilities().contains(Capability.GUEST_MEMORY_ACCESS)) {
            assertRefused(vm, () -> adapter.guestMemory(vm), "guestMemory of an unknown VM");
        }
        if (adapter.capabilities().contains(Capability.DEVICE_STATE)) {
            assertRefused(vm, () -> adapter.saveDeviceState(vm), "saveDeviceState of an unknown VM");
        }
    }

    /** A running VM can be neither undefined nor started again; it keeps running. */
    @Test
    void aRunningVmCannotBeUndefinedOrStartedAgain() {
        HypervisorAdapter adapter = adapter();
        String vm = startNewVm(adapter, "busy");
        assertRefused(vm, () -> adapter.undefine(vm), "undefine of a running VM");
        assertRefused(vm, () -> adapter.start(vm), "start of a running VM");
        assertEquals(VmState.RUNNING, info(adapter, vm).state(), "a refused call must change nothing");
        awaitAlive(adapter, vm);
    }

    /** A VM that does not run cannot be paused. */
    @Test
    void aVmThatDoesNotRunCannotBePaused() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.PAUSE);
        String vm = newVmName("nopause");
        adapter.define(spec(vm));
        assertRefused(vm, () -> adapter.pause(vm), "pause of a VM never started");
        assertEquals(VmState.DEFINED, info(adapter, vm).state());
    }

    /** A paused VM can be destroyed, and then started again. */
    @Test
    void aPausedVmCanBeDestroyedAndStartedAgain() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.PAUSE);
        String vm = startNewVm(adapter, "pausekill");
        adapter.pause(vm);
        adapter.destroy(vm);
        assertEquals(VmState.STOPPED, info(adapter, vm).state(), "after destroying a paused VM");
        adapter.start(vm);
        assertEquals(VmState.RUNNING, info(adapter, vm).state());
        awaitAlive(adapter, vm);
    }

    /** A reboot leaves the VM running, with a live guest. */
    @Test
    void aRebootLeavesTheVmRunning() {
        HypervisorAdapter adapter = adapter();
        assumeCapability(Capability.REBOOT);
        String vm = startNewVm(adapter, "reboot");
        adapter.reboot(vm);
        awaitState(adapter, vm, VmState.RUNNING);
        awaitAlive(adapter, vm);
    }

    /** Several VMs run side by side and stop independently. */
    @Test
    void vmsRunSideBySide() {
        HypervisorAdapter adapter = adapter();
        String first = startNewVm(adapter, "pair");
        String second = startNewVm(adapter, "pair");
        adapter.destroy(first);
        assertEquals(VmState.STOPPED, info(adapter, first).state());
        assertEquals(VmState.RUNNING, info(adapter, second).state(), "destroying one VM touched another");
        awaitAlive(adapter, second);
        Set<String> listed = adapter.list().stream().map(VmInfo::name).collect(Collectors.toSet());
        assertTrue(listed.containsAll(Set.of(first, second)), () -> "list() " + listed);
    }
}
