package io.avance.xen;

import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.testkit.hypervisor.HypervisorAdapterContract;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The testkit's hypervisor contract suites against {@link XenHypervisorAdapter}, in a real Xen
 * dom0 (run by the {@code xen-it} profile). The guest is the boot image's 128 MiB PVH test
 * guest; "alive" means its init is ticking on its console; a crash is the guest kernel's own
 * sysrq crash, asked for with {@code xl sysrq}.
 * The memory-copy migration suite aborts by assumption: the adapter has no DEVICE_STATE.
 */
class XenHypervisorAdapterContractInDom0 extends HypervisorAdapterContract {

    private static final Path CONSOLES = Paths.get("/var/log/xen/console");
    /** How far each console log had been read, per file. */
    private final Map<Path, Long> consoleRead = new ConcurrentHashMap<>();

    @Override
    public HypervisorAdapter createAdapter() {
        return new XenHypervisorAdapter();
    }

    @Override
    public VmSpec vmSpec(String name) {
        return Dom0Fixture.guest(name);
    }

    @Override
    public Duration bootTimeout() {
        // Software emulation: a guest boots in about 10 s, a migration takes about 20 s.
        return Duration.ofSeconds(120);
    }

    /**
     * The guest kernel's own crash, asked for from dom0 (xl sysrq: the key goes through xenstore
     * to the guest's Xen driver, which runs sysrq 'c'): it panics, and Linux on Xen then shuts the
     * domain down as crashed. Not xen-hvmcrash, which only sets the vCPU's RIP to 0xf001: when the
     * vCPU was paused in user mode, that kills one process of the guest and the kernel goes on
     * (seen once in the Xen stage: the guest kept ticking, no CRASHED event).
     */
    @Override
    public boolean crash(HypervisorAdapter adapter, String vm) {
        String domid = adapter.info(vm).map(VmInfo::hypervisorId).orElseThrow();
        try {
            Dom0Fixture.run("xl", "sysrq", domid, "c");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return true;
    }

    /**
     * Alive: the adapter reports it running, and a new tick of its init reached its console
     * (any of the VM's console logs: a migrated copy logs under its incoming name) since the last
     * check.
     */
    @Override
    public boolean guestIsAlive(HypervisorAdapter adapter, String vm) {
        if (adapter.info(vm).map(VmInfo::state).orElse(null) != VmState.RUNNING) {
            return false;
        }
        boolean ticked = false;
        try (DirectoryStream<Path> logs = Files.newDirectoryStream(CONSOLES, "guest-" + vm + "*.log")) {
            for (Path log : logs) {
                ticked |= newText(log).contains("avance-guest tick");
            }
        } catch (IOException e) {
            return false;
        }
        return ticked;
    }

    private String newText(Path log) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long from = consoleRead.getOrDefault(log, 0L);
            long length = file.length();
            if (length <= from) {
                return "";
            }
            byte[] bytes = new byte[(int) Math.min(length - from, 1 << 20)];
            file.seek(from);
            file.readFully(bytes);
            consoleRead.put(log, from + bytes.length);
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }
}
