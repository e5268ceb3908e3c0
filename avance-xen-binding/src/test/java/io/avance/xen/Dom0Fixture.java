package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.avance.api.hypervisor.Availability;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What the tests that run inside a Xen dom0 share: an open adapter with a fresh state
 * directory, the PVH test guest the boot image ships, an event recorder and deadline-bound
 * waits. Only for the {@code *InDom0} classes, which the {@code xen-it} profile runs in Xen.
 */
final class Dom0Fixture implements AutoCloseable {

    /** The guest kernel and initramfs that .ci/xen/build-image.sh puts into dom0. */
    static final String GUEST_KERNEL = System.getProperty("avance.xen.guestKernel", "/avance-guest/vmlinux");
    static final String GUEST_RAMDISK = System.getProperty("avance.xen.guestRamdisk", "/avance-guest/guest.cpio.gz");
    /**
     * The host CPUs the test guests run on ({@code xen.cpus}), when dom0-run-tests.sh finds more
     * CPUs than dom0's pinned vCPUs: a guest that shares a CPU with a busy dom0 faults now and
     * then under QEMU's nested emulation (README-xen.md, "Guests that fault under nested emulation").
     */
    static final Optional<String> GUEST_CPUS = Optional.ofNullable(System.getProperty("avance.xen.guestCpus"));
    private static final AtomicInteger DIRECTORIES = new AtomicInteger();

    final XenHypervisorAdapter adapter;
    final Path stateDirectory;
    final BlockingQueue<VmEvent> events = new LinkedBlockingQueue<>();
    private final List<VmEvent> seen = new ArrayList<>();

    Dom0Fixture() throws IOException {
        Availability available = new XenHypervisorAdapter().probe();
        assertTrue(available.available(), "these tests run in a Xen dom0: " + available.reason());
        stateDirectory = Files.createTempDirectory("avance-xen-" + DIRECTORIES.incrementAndGet() + "-");
        adapter = new XenHypervisorAdapter();
        adapter.open(TestContext.in(stateDirectory));
        adapter.addListener(events::add);
    }

    /**
     * A 128 MiB, one-vCPU PVH guest running the test initramfs, with words on its command line.
     * {@code sysrq_always_enabled}: Debian's kernel refuses a crash asked for through Xen
     * ({@code xl sysrq DOMID c}) otherwise, since its default sysrq mask leaves out the dump keys.
     */
    static VmSpec guest(String name, String... cmdline) {
        String line = "console=hvc0 rdinit=/init quiet sysrq_always_enabled " + String.join(" ", cmdline);
        Map<String, String> options = new HashMap<>(Map.of("xen.kernel", GUEST_KERNEL,
                "xen.ramdisk", GUEST_RAMDISK, "xen.cmdline", line.strip()));
        GUEST_CPUS.ifPresent(cpus -> options.put("xen.cpus", cpus));
        return new VmSpec(name, 1, 128L << 20, List.of(), List.of(), options);
    }

    VmInfo info(String vm) {
        return adapter.info(vm).orElseThrow(() -> new AssertionError("no VM " + vm));
    }

    /** Waits for the next event of a kind for a VM; fails at the deadline with what was seen. */
    VmEvent awaitEvent(String vm, VmEvent.Kind kind, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (VmEvent event : seen) {
            if (event.vm().equals(vm) && event.kind() == kind) {
                seen.remove(event);
                return event;
            }
        }
        while (true) {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                fail("no " + kind + " event for " + vm + " within " + timeout + "; saw " + seen);
            }
            VmEvent event = events.poll(remaining, TimeUnit.NANOSECONDS);
            if (event == null) {
                continue;
            }
            if (event.vm().equals(vm) && event.kind() == kind) {
                return event;
            }
            seen.add(event);
        }
    }

    /** Polls a condition every 50 ms until a deadline. */
    static <T> T await(String what, Duration timeout, Supplier<Optional<T>> condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<T> value = condition.get();
            if (value.isPresent()) {
                return value.get();
            }
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout + " waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    void awaitState(String vm, VmState state, Duration timeout) throws InterruptedException {
        await(vm + " to be " + state, timeout, () -> adapter.info(vm).filter(i -> i.state() == state));
    }

    /** Runs a dom0 command (xl), returning its output; fails on a non-zero exit. */
    static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            fail(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }

    /** The guest's console, which xenconsoled logs in the boot image. */
    static String console(String domainName) {
        try {
            return Files.readString(Paths.get("/var/log/xen/console/guest-" + domainName + ".log"));
        } catch (IOException e) {
            return "(no console log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        for (VmInfo vm : adapter.list()) {
            try {
                adapter.destroy(vm.name());
            } catch (RuntimeException e) {
                System.err.println("cleanup: destroying " + vm.name() + ": " + e);
            }
        }
        adapter.close();
    }
}
