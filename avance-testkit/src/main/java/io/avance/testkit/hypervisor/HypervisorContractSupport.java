package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.Availability;
import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEventListener;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every hypervisor contract suite shares: the adapters under test (opened lazily, closed
 * after each test), unique VM names, waits with deadlines, and the in-process memory-copy
 * migration the migration suite performs. Depends only on the API, JUnit 5 and the JDK.
 *
 * <p>After each test the suite destroys and undefines every VM it named, on every adapter it
 * opened, then closes the adapters: a failed test leaves nothing running.
 */
public abstract class HypervisorContractSupport {

    /** The node id of the first adapter's context. */
    protected static final NodeId SOURCE_NODE = NodeId.of("tck-source");
    /** The node id of the peer adapter's context. */
    protected static final NodeId TARGET_NODE = NodeId.of("tck-target");

    @TempDir
    Path temporary;

    private final List<HypervisorAdapter> opened = new ArrayList<>();
    private final List<AutoCloseable> registrations = new ArrayList<>();
    private final Set<String> names = new LinkedHashSet<>();
    private HypervisorAdapter adapter;
    private HypervisorAdapter peer;

    /**
     * The hooks of the adapter under test.
     *
     * @return the adapter author's hooks
     */
    protected abstract AdapterUnderTest underTest();

    /**
     * The adapter under test, created, probed and opened on first use in a test.
     *
     * @return the opened adapter
     * @throws org.opentest4j.TestAbortedException if the adapter says it is not available here
     */
    protected final HypervisorAdapter adapter() {
        if (adapter == null) {
            adapter = open(underTest().createAdapter(), SOURCE_NODE);
        }
        return adapter;
    }

    /**
     * The adapter of the other node of a migration, created and opened on first use.
     *
     * @return the opened peer adapter
     */
    protected final HypervisorAdapter peerAdapter() {
        if (peer == null) {
            peer = open(underTest().createPeerAdapter(), TARGET_NODE);
        }
        return peer;
    }

    private HypervisorAdapter open(HypervisorAdapter created, NodeId node) {
        if (created == null) {
            throw new AssertionError("createAdapter() returned null");
        }
        Availability availability = created.probe();
        if (availability == null) {
            throw new AssertionError(created.name() + ": probe() returned null");
        }
        assumeTrue(availability.available(), () -> created.name() + " is not available here: "
                + availability.reason());
        Path state = temporary.resolve(node.value());
        try {
            Files.createDirectories(state);
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot create " + state, e);
        }
        created.open(underTest().context(node, state));
        opened.add(created);
        return created;
    }

    /**
     * Registers a listener for the length of the test; the registration is closed after it.
     *
     * @param on       the adapter
     * @param listener the listener
     * @return the registration, to close earlier
     */
    protected final AutoCloseable register(HypervisorAdapter on, VmEventListener listener) {
        AutoCloseable registration = on.addListener(listener);
        if (registration == null) {
            throw new AssertionError(on.name() + ": addListener returned null");
        }
        registrations.add(registration);
        return registration;
    }

    /**
     * Skips the test (as aborted, not passed) unless the adapter has a capability.
     *
     * @param capability what the test needs
     */
    protected final void assumeCapability(Capability capability) {
        assumeTrue(adapter().capabilities().contains(capability),
                () -> adapter().name() + " does not have " + capability);
    }

    /**
     * A VM name no other test uses, which the suite cleans up after the test.
     *
     * @param purpose a few letters saying what the VM is for
     * @return a valid, unique name such as {@code tck-life-3f9a2c}
     */
    protected final String newVmName(String purpose) {
        String name = String.format(Locale.ROOT, "tck-%s-%06x", purpose, ThreadLocalRandom.current().nextInt(1 << 24));
        names.add(name);
        return name;
    }

    /**
     * The adapter author's spec for a VM of this name.
     *
     * @param name a name from {@link #newVmName}
     * @return the spec
     */
    protected final VmSpec spec(String name) {
        VmSpec spec = underTest().vmSpec(name);
        if (spec == null || !spec.name().equals(name)) {
            throw new AssertionError("vmSpec(" + name + ") must return a spec named " + name + ", returned " + spec);
        }
        return spec;
    }

    /** @return the hooks' boot timeout */
    protected final Duration bootTimeout() {
        return underTest().bootTimeout();
    }

    /**
     * Defines and starts a new VM and waits until it runs and its guest is alive.
     *
     * @param on      the adapter
     * @param purpose for its name
     * @return the VM's name
     */
    protected final String startNewVm(HypervisorAdapter on, String purpose) {
        String name = newVmName(purpose);
        on.define(spec(name));
        on.start(name);
        awaitState(on, name, VmState.RUNNING);
        awaitAlive(on, name);
        return name;
    }

    /**
     * What the adapter reports about a VM that must exist.
     *
     * @param on the adapter
     * @param vm the VM
     * @return its info
     */
    protected static VmInfo info(HypervisorAdapter on, String vm) {
        return on.info(vm).orElseThrow(() -> new AssertionError(on.name() + " does not know VM " + vm
                + " any more; it lists " + on.list()));
    }

    /**
     * Waits until the adapter reports a state (start and shutdown return when done, so this is
     * normally immediate; it tolerates a hypervisor that reports the change a moment later).
     *
     * @param on    the adapter
     * @param vm    the VM
     * @param state the state
     */
    protected final void awaitState(HypervisorAdapter on, String vm, VmState state) {
        awaitTrue(() -> on.info(vm).map(VmInfo::state).orElse(null) == state, bootTimeout(),
                () -> "VM " + vm + " on " + on.name() + " should be " + state + ", is " + on.info(vm));
    }

    /**
     * Waits until the hooks say the guest is alive.
     *
     * @param on the adapter
     * @param vm the VM
     */
    protected final void awaitAlive(HypervisorAdapter on, String vm) {
        awaitTrue(() -> underTest().guestIsAlive(on, vm), bootTimeout(),
                () -> "the guest of VM " + vm + " on " + on.name() + " is not alive; info " + on.info(vm));
    }

    /**
     * Polls a condition until it holds, with a deadline; the interval grows from 1 ms to 50 ms.
     *
     * @param condition what must become true
     * @param timeout   the longest wait
     * @param failure   what to report otherwise
     */
    protected static void awaitTrue(BooleanSupplier condition, Duration timeout, Supplier<String> failure) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(failure.get());
            }
            try {
                // Polling with a deadline: the interval between two checks of the condition.
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting: " + failure.get(), e);
            }
            pause = Math.min(pause * 2, 50);
        }
    }

    /**
     * Asserts that a call fails with a {@link HypervisorException} whose message names a word
     * (the VM, the option).
     *
     * @param word     what the message must contain
     * @param call     the call
     * @param what     what the call was, for the failure message
     * @return the exception
     */
    protected static HypervisorException assertRefused(String word, Runnable call, String what) {
        try {
            call.run();
        } catch (HypervisorException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(word),
                    () -> what + ": the message should name '" + word + "', was: " + e.getMessage());
            return e;
        } catch (RuntimeException e) {
            throw new AssertionError(what + ": expected a HypervisorException, got " + e, e);
        }
        throw new AssertionError(what + ": expected a HypervisorException, the call succeeded");
    }

    // ------------------------------------------------------------------------------------------
    // An in-process memory-copy migration, as the engine's migrator does it over the link

    /** How a memory copy went. */
    protected record CopyReport(int rounds, long pagesSent, long zeroPages, long lastRoundPages) {
    }

    /**
     * Copies pages that the bitmap marks from one guest memory to another, in runs of consecutive
     * pages; runs of zero pages are sent as {@link GuestMemory#zeroPages}.
     *
     * @param from   the source memory
     * @param to     the target memory
     * @param bitmap which pages to copy (one bit per page)
     * @return {pages copied as data, pages zeroed}
     */
    protected static long[] copyPages(GuestMemory from, GuestMemory to, long[] bitmap) {
        int pageSize = from.pageSizeBytes();
        int maxRun = Math.max(1, (1 << 20) / pageSize);
        ByteBuffer buffer = ByteBuffer.allocateDirect(maxRun * pageSize);
        long pages = from.pageCount();
        long data = 0;
        long zeros = 0;
        long page = 0;
        while (page < pages) {
            if ((bitmap[(int) (page >>> 6)] & (1L << (page & 63))) == 0) {
                page++;
                continue;
            }
            long start = page;
            while (page < pages && page - start < maxRun && (bitmap[(int) (page >>> 6)] & (1L << (page & 63))) != 0) {
                page++;
            }
            int run = (int) (page - start);
            buffer.clear();
            from.readPages(start, run, buffer);
            assertEquals(run * pageSize, buffer.position(), "readPages must advance the buffer by the pages read");
            buffer.flip();
            // Split the run into zero and data pages, as a migrator that skips zero pages does.
            int i = 0;
            while (i < run) {
                boolean zero = isZero(buffer, i * pageSize, pageSize);
                int j = i + 1;
                while (j < run && isZero(buffer, j * pageSize, pageSize) == zero) {
                    j++;
                }
                if (zero) {
                    to.zeroPages(start + i, j - i);
                    zeros += j - i;
                } else {
                    ByteBuffer slice = buffer.duplicate();
                    slice.position(i * pageSize).limit(j * pageSize);
                    to.writePages(start + i, j - i, slice);
                    data += j - i;
                }
                i = j;
            }
        }
        return new long[] {data, zeros};
    }

    /**
     * Runs the pre-copy rounds of a live migration: every page first, then the pages dirtied
     * meanwhile, until a round is small or the rounds run out. The caller then pauses the source
     * and calls {@link #copyLastRound}. Dirty logging must be started.
     *
     * @param from      the source memory, of a running guest
     * @param to        the target memory
     * @param maxRounds the most rounds
     * @param smallPages a round this small ends the pre-copy
     * @return the report
     */
    protected static CopyReport preCopy(GuestMemory from, GuestMemory to, int maxRounds, long smallPages) {
        long[] bitmap = new long[(int) ((from.pageCount() + 63) >>> 6)];
        long sent = 0;
        long zeros = 0;
        long last = 0;
        int rounds = 0;
        while (rounds < maxRounds) {
            java.util.Arrays.fill(bitmap, 0);
            from.fetchAndClearDirtyPages(bitmap);
            last = count(bitmap);
            long[] copied = copyPages(from, to, bitmap);
            sent += copied[0];
            zeros += copied[1];
            rounds++;
            if (last <= smallPages) {
                break;
            }
        }
        return new CopyReport(rounds, sent, zeros, last);
    }

    /**
     * The last round, with the source paused: the pages dirtied since the last pre-copy round.
     *
     * @param from the source memory, of a paused guest
     * @param to   the target memory
     * @return how many pages it copied
     */
    protected static long copyLastRound(GuestMemory from, GuestMemory to) {
        long[] bitmap = new long[(int) ((from.pageCount() + 63) >>> 6)];
        from.fetchAndClearDirtyPages(bitmap);
        copyPages(from, to, bitmap);
        return count(bitmap);
    }

    /**
     * A whole live migration in this process, from a running VM on one adapter to a new one on
     * another, as the engine performs it: pre-copy, pause, last round, device state, activate.
     * On return the target runs and the source is paused (not yet destroyed).
     *
     * @param source  the source adapter
     * @param target  the target adapter
     * @param vm      the VM, running on the source
     * @return the guest's fingerprint taken while paused on the source (empty if the hooks cannot
     *         tell)
     */
    protected final Optional<String> migrate(HypervisorAdapter source, HypervisorAdapter target, String vm) {
        VmSpec spec = spec(vm);
        GuestMemory from = source.guestMemory(vm);
        IncomingVm incoming = target.prepareIncoming(spec);
        boolean done = false;
        try {
            GuestMemory to = incoming.memory();
            assertEquals(from.pageCount(), to.pageCount(), "the incoming VM's page count");
            from.startDirtyLogging();
            preCopy(from, to, 30, 64);
            source.pause(vm);
            copyLastRound(from, to);
            Optional<String> state = underTest().guestState(source, vm);
            byte[] deviceState = source.saveDeviceState(vm);
            from.stopDirtyLogging();
            // From here on, activate alone decides: if it fails, the target VM is destroyed by it,
            // and abort must not be called as well.
            done = true;
            incoming.activate(deviceState);
            return state;
        } finally {
            if (!done) {
                try {
                    incoming.abort();
                } catch (RuntimeException e) {
                    // the failure that brought us here matters more
                }
            }
        }
    }

    /**
     * Counts the set bits of a bitmap.
     *
     * @param bitmap the bitmap
     * @return how many pages it marks
     */
    protected static long count(long[] bitmap) {
        long count = 0;
        for (long word : bitmap) {
            count += Long.bitCount(word);
        }
        return count;
    }

    private static boolean isZero(ByteBuffer buffer, int offset, int length) {
        for (int i = offset; i < offset + length; i += Long.BYTES) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    @AfterEach
    final void cleanUpAdapters() {
        for (AutoCloseable registration : registrations) {
            try {
                registration.close();
            } catch (Exception e) {
                // Cleaning up after a test that may have failed: keep going.
            }
        }
        registrations.clear();
        for (HypervisorAdapter each : opened) {
            for (String name : names) {
                try {
                    if (each.info(name).isPresent()) {
                        each.destroy(name);
                        each.undefine(name);
                    }
                } catch (RuntimeException e) {
                    // Cleaning up after a test that may have failed: keep going.
                }
            }
        }
        for (HypervisorAdapter each : opened) {
            try {
                underTest().closeAdapter(each);
            } catch (RuntimeException e) {
                // as above
            }
        }
        opened.clear();
        names.clear();
        adapter = null;
        peer = null;
    }
}
