package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.api.migration.MigrationException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Memory-copy migration between two adapters in this process, done by the test itself the way
 * the engine's migrator does it over the private link: pre-copy rounds with dirty logging,
 * pause, last round, device state, activate. For adapters with
 * {@link Capability#GUEST_MEMORY_ACCESS}, {@link Capability#DIRTY_PAGE_LOGGING},
 * {@link Capability#DEVICE_STATE} and {@link Capability#PAUSE}; without them the tests are
 * reported as aborted by assumption.
 *
 * <p>The peer comes from {@link AdapterUnderTest#createPeerAdapter()}. Whether the guest kept its
 * state is checked through {@link AdapterUnderTest#guestState} and
 * {@link AdapterUnderTest#guestIsAlive}.
 */
public abstract class MigrationContract extends HypervisorContractSupport {

    @BeforeEach
    void requireMemoryMigration() {
        assumeCapability(Capability.GUEST_MEMORY_ACCESS);
        assumeCapability(Capability.DIRTY_PAGE_LOGGING);
        assumeCapability(Capability.DEVICE_STATE);
        assumeCapability(Capability.PAUSE);
    }

    /** The target runs the guest with its state intact; the source is then destroyed. */
    @Test
    void aMemoryCopyMovesTheGuestWithItsState() {
        HypervisorAdapter source = adapter();
        HypervisorAdapter target = peerAdapter();
        String vm = startNewVm(source, "migrate");
        underTest().exerciseGuest(source, vm);

        Optional<String> before = migrate(source, target, vm);

        assertEquals(VmState.RUNNING, info(target, vm).state(), "activate returns when the target runs");
        VmInfo moved = info(target, vm);
        VmSpec spec = spec(vm);
        assertEquals(spec.memoryBytes(), moved.memoryBytes(), "the target's memory");
        assertEquals(spec.cores(), moved.cores(), "the target's virtual CPUs");
        awaitAlive(target, vm);
        if (before.isPresent()) {
            assertEquals(before, underTest().guestState(target, vm),
                    "the guest's state on the target must be what it was when the source paused");
        }
        assertEquals(VmState.PAUSED, info(source, vm).state(), "the source stays paused until destroyed");
        source.destroy(vm);
        assertTrue(source.info(vm).map(VmInfo::state).map(s -> !s.active()).orElse(true),
                () -> "the destroyed source still holds resources: " + source.info(vm));
        awaitAlive(target, vm);
        underTest().exerciseGuest(target, vm);
        awaitAlive(target, vm);
    }

    /** An incoming VM is paused, with the spec's memory, until activated. */
    @Test
    void theIncomingVmIsPausedWithTheSpecsMemory() {
        HypervisorAdapter target = peerAdapter();
        String vm = newVmName("incoming");
        VmSpec spec = spec(vm);
        IncomingVm incoming = target.prepareIncoming(spec);
        try {
            assertEquals(VmState.PAUSED, info(target, vm).state(), "an incoming VM before activation");
            GuestMemory memory = incoming.memory();
            assertEquals(spec.memoryBytes(), memory.pageCount() * memory.pageSizeBytes(), "its memory");
        } finally {
            incoming.abort();
        }
        assertTrue(target.info(vm).map(VmInfo::state).map(s -> !s.active()).orElse(true),
                () -> "an aborted incoming VM still holds resources: " + target.info(vm));
    }

    /** An aborted migration leaves the source able to resume, with a live guest. */
    @Test
    void anAbortedIncomingVmLeavesTheSourceRunning() {
        HypervisorAdapter source = adapter();
        HypervisorAdapter target = peerAdapter();
        String vm = startNewVm(source, "abort");
        underTest().exerciseGuest(source, vm);
        GuestMemory from = source.guestMemory(vm);
        IncomingVm incoming = target.prepareIncoming(spec(vm));
        from.startDirtyLogging();
        preCopy(from, incoming.memory(), 2, 0);
        source.pause(vm);
        Optional<String> before = underTest().guestState(source, vm);
        source.saveDeviceState(vm);
        from.stopDirtyLogging();
        incoming.abort();

        assertTrue(target.info(vm).map(VmInfo::state).map(s -> !s.active()).orElse(true),
                () -> "an aborted incoming VM still holds resources: " + target.info(vm));
        source.resume(vm);
        assertEquals(VmState.RUNNING, info(source, vm).state());
        awaitAlive(source, vm);
        if (before.isPresent()) {
            assertEquals(before, underTest().guestState(source, vm), "the source's guest after the failed migration");
        }
        underTest().exerciseGuest(source, vm);
        awaitAlive(source, vm);
    }

    /** A device state that is not one is refused with MigrationException; the source resumes. */
    @Test
    void aDamagedDeviceStateIsRefusedAndTheSourceResumes() {
        HypervisorAdapter source = adapter();
        HypervisorAdapter target = peerAdapter();
        String vm = startNewVm(source, "garbage");
        GuestMemory from = source.guestMemory(vm);
        IncomingVm incoming = target.prepareIncoming(spec(vm));
        from.startDirtyLogging();
        preCopy(from, incoming.memory(), 1, 0);
        source.pause(vm);
        copyLastRound(from, incoming.memory());
        source.saveDeviceState(vm);
        from.stopDirtyLogging();
        byte[] garbage = "this is not the device state of any hypervisor".getBytes(StandardCharsets.US_ASCII);
        assertThrows(MigrationException.class, () -> incoming.activate(garbage), "activate with a damaged state");
        assertTrue(target.info(vm).map(VmInfo::state).map(s -> !s.active()).orElse(true),
                () -> "a VM that failed to activate still holds resources: " + target.info(vm));
        source.resume(vm);
        awaitAlive(source, vm);
    }

    /** Device state is saved only from a paused VM. */
    @Test
    void deviceStateNeedsAPausedVm() {
        HypervisorAdapter adapter = adapter();
        String vm = startNewVm(adapter, "devstate");
        assertRefused(vm, () -> adapter.saveDeviceState(vm), "saveDeviceState of a running VM");
        assertEquals(VmState.RUNNING, info(adapter, vm).state());
        awaitAlive(adapter, vm);
    }
}
