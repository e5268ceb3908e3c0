package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The adapter's lifecycle against a real Xen 4.17, in dom0: list, define, create a PVH guest,
 * pause and resume, info, shutdown, reboot, destroy, with the events libxl reports.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XenLifecycleInDom0 {

    private static final Duration GUEST = Duration.ofSeconds(90);
    private static Dom0Fixture xen;

    @BeforeAll
    static void open() throws Exception {
        xen = new Dom0Fixture();
    }

    @AfterAll
    static void close() {
        if (xen != null) {
            xen.close();
        }
    }

    @Test
    @Order(1)
    void describesTheHost() {
        HostResources host = xen.adapter.hostResources();
        assertEquals(4, host.cores(), "QEMU gives Xen four CPUs (.ci/xen/boot.sh)");
        assertEquals(Optional.of("2-3"), Dom0Fixture.GUEST_CPUS, "dom0 is pinned to CPUs 0 and 1, the guests get the rest");
        // 2 GiB machine, 1 GiB for dom0: the rest is Xen's and the guests' (other test classes
        // run guests meanwhile).
        assertTrue(host.memoryBytes() > 128L << 20 && host.memoryBytes() < 1L << 30, "free " + host.memoryBytes());
        assertEquals(List.of(), xen.adapter.list(), "nothing defined yet: dom0 is not a VM of ours");
    }

    @Test
    @Order(2)
    void definesValidatesAndRefuses() {
        VmSpec spec = Dom0Fixture.guest("life1");
        xen.adapter.define(spec);
        xen.adapter.define(spec);
        assertEquals(VmState.DEFINED, xen.info("life1").state());
        assertEquals(List.of("life1"), xen.adapter.list().stream().map(VmInfo::name).toList());
        HypervisorException different = assertThrows(HypervisorException.class,
                () -> xen.adapter.define(new VmSpec("life1", 2, 128L << 20, List.of(), List.of(), spec.options())));
        assertTrue(different.getMessage().contains("a different VM named 'life1'"), different.getMessage());
        HypervisorException unknown = assertThrows(HypervisorException.class, () -> xen.adapter.define(new VmSpec(
                "bad1", 1, 128L << 20, List.of(), List.of(), Map.of("xen.kernel", "/k", "xen.memory", "1"))));
        assertTrue(unknown.getMessage().contains("unknown option 'xen.memory'"), unknown.getMessage());
        assertTrue(xen.adapter.info("bad1").isEmpty());
        assertTrue(xen.adapter.info("nosuchvm").isEmpty());
    }

    @Test
    @Order(3)
    void aMissingKernelIsAClearErrorAndLeavesNoDomain() throws Exception {
        xen.adapter.define(new VmSpec("nokernel", 1, 64L << 20, List.of(), List.of(),
                Map.of("xen.kernel", "/no/such/vmlinuz")));
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.adapter.start("nokernel"));
        assertTrue(e.getMessage().contains("/no/such/vmlinuz is not readable"), e.getMessage());
        assertFalse(Dom0Fixture.run("xl", "list").contains("nokernel"));
        xen.adapter.undefine("nokernel");
    }

    @Test
    @Order(4)
    void startsPausesResumesAndReports() throws Exception {
        long started = System.nanoTime();
        xen.adapter.start("life1");
        System.out.printf("XEN-METRIC create+start of a 128 MiB PVH guest: %.1f s%n", (System.nanoTime() - started) / 1e9);
        xen.awaitEvent("life1", VmEvent.Kind.STARTED, GUEST);
        VmInfo running = xen.info("life1");
        assertEquals(VmState.RUNNING, running.state());
        assertEquals(1, running.cores());
        assertEquals(128L << 20, running.memoryBytes(), "Xen's memory target for the guest");
        String xl = Dom0Fixture.run("xl", "list");
        assertTrue(xl.contains("life1"), xl);
        // xen.cpus reached Xen: the guest's vCPU has a hard affinity to the CPUs the fixture gave it.
        String vcpus = Dom0Fixture.run("xl", "vcpu-list", "life1");
        assertTrue(vcpus.lines().anyMatch(line -> line.startsWith("life1 ")
                && line.strip().endsWith(Dom0Fixture.GUEST_CPUS.orElseThrow() + " / all")), vcpus);
        HypervisorException again = assertThrows(HypervisorException.class, () -> xen.adapter.start("life1"));
        assertTrue(again.getMessage().contains("already running"), again.getMessage());
        // The guest's init says it is up on its console.
        Dom0Fixture.await("the guest's init", GUEST, () -> Optional.of(Dom0Fixture.console("life1"))
                .filter(text -> text.contains("avance-guest: up")));

        xen.adapter.pause("life1");
        xen.awaitEvent("life1", VmEvent.Kind.PAUSED, GUEST);
        assertEquals(VmState.PAUSED, xen.info("life1").state());
        assertTrue(Dom0Fixture.run("xl", "list", "life1").contains("--p"), "xl sees it paused");
        HypervisorException busy = assertThrows(HypervisorException.class, () -> xen.adapter.start("life1"));
        assertTrue(busy.getMessage().contains("PAUSED"), busy.getMessage());
        xen.adapter.resume("life1");
        xen.awaitEvent("life1", VmEvent.Kind.RESUMED, GUEST);
        assertEquals(VmState.RUNNING, xen.info("life1").state());
        HypervisorException defined = assertThrows(HypervisorException.class, () -> xen.adapter.undefine("life1"));
        assertTrue(defined.getMessage().contains("destroy it first"), defined.getMessage());
    }

    @Test
    @Order(5)
    void shutsDownOnRequest() throws Exception {
        long started = System.nanoTime();
        xen.adapter.shutdown("life1");
        System.out.printf("XEN-METRIC shutdown of the guest: %.1f s%n", (System.nanoTime() - started) / 1e9);
        VmEvent event = xen.awaitEvent("life1", VmEvent.Kind.SHUT_DOWN, GUEST);
        assertTrue(event.detail().contains("poweroff"), event.detail());
        assertEquals(VmState.STOPPED, xen.info("life1").state());
        assertFalse(Dom0Fixture.run("xl", "list").contains("life1"));
    }

    @Test
    @Order(6)
    void rebootsInPlace() throws Exception {
        xen.adapter.start("life1");
        xen.awaitEvent("life1", VmEvent.Kind.STARTED, GUEST);
        String before = xen.info("life1").hypervisorId();
        Dom0Fixture.await("the guest's init", GUEST, () -> Optional.of(Dom0Fixture.console("life1"))
                .filter(text -> text.contains("avance-guest: up")));
        xen.adapter.reboot("life1");
        VmEvent event = xen.awaitEvent("life1", VmEvent.Kind.REBOOTED, GUEST);
        assertTrue(event.detail().contains("reboot"), event.detail());
        VmInfo after = xen.info("life1");
        assertEquals(VmState.RUNNING, after.state());
        assertNotEquals(before, after.hypervisorId(), "a new domain");
    }

    @Test
    @Order(7)
    void destroyReportsTheDeathEvent() throws Exception {
        xen.adapter.destroy("life1");
        VmEvent event = xen.awaitEvent("life1", VmEvent.Kind.DESTROYED, GUEST);
        assertTrue(event.detail().contains("destroyed"), event.detail());
        assertEquals(VmState.STOPPED, xen.info("life1").state());
        xen.adapter.destroy("life1");
    }

    @Test
    @Order(8)
    void aDomainDestroyedByAnotherToolIsReported() throws Exception {
        xen.adapter.start("life1");
        xen.awaitEvent("life1", VmEvent.Kind.STARTED, GUEST);
        Dom0Fixture.run("xl", "destroy", "life1");
        xen.awaitEvent("life1", VmEvent.Kind.DESTROYED, GUEST);
        assertEquals(VmState.STOPPED, xen.info("life1").state());
        xen.adapter.undefine("life1");
        assertTrue(xen.adapter.info("life1").isEmpty());
    }

    @Test
    @Order(9)
    void aGuestKernelCrashIsReportedAndItsDomainDestroyed() throws Exception {
        xen.adapter.define(Dom0Fixture.guest("crash1", "avance.crash"));
        xen.adapter.start("crash1");
        xen.awaitEvent("crash1", VmEvent.Kind.STARTED, GUEST);
        VmEvent crashed = xen.awaitEvent("crash1", VmEvent.Kind.CRASHED, GUEST);
        assertTrue(crashed.detail().contains("crash"), crashed.detail());
        assertEquals(VmState.CRASHED, xen.info("crash1").state());
        assertFalse(Dom0Fixture.run("xl", "list").contains("crash1"), "the crashed domain is destroyed");
        // The engine restarts a crashed VM where it ran.
        xen.adapter.undefine("crash1");
    }

    @Test
    @Order(10)
    void aNewAdapterFindsTheRunningVmsOfTheOldOne() throws Exception {
        VmSpec spec = Dom0Fixture.guest("life2");
        xen.adapter.define(spec);
        xen.adapter.start("life2");
        xen.awaitEvent("life2", VmEvent.Kind.STARTED, GUEST);
        // Running, not booting: a guest whose kernel is still starting is not what a restarted
        // node finds (and under emulation its early boot is where it most often fails).
        Dom0Fixture.await("the guest's init", GUEST, () -> Optional.of(Dom0Fixture.console("life2"))
                .filter(text -> text.contains("avance-guest: up")));
        String domid = xen.info("life2").hypervisorId();
        xen.adapter.close();
        // The VM keeps running while no adapter is open.
        assertTrue(Dom0Fixture.run("xl", "list").contains("life2"));
        XenHypervisorAdapter again = new XenHypervisorAdapter();
        again.open(TestContext.in(xen.stateDirectory));
        try {
            VmInfo info = again.info("life2").orElseThrow();
            assertEquals(VmState.RUNNING, info.state());
            assertEquals(domid, info.hypervisorId());
            java.util.concurrent.BlockingQueue<VmEvent> events = new java.util.concurrent.LinkedBlockingQueue<>();
            again.addListener(events::add);
            again.destroy("life2");
            VmEvent event = events.poll(90, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(event != null && event.kind() == VmEvent.Kind.DESTROYED, "event " + event);
            again.undefine("life2");
        } finally {
            again.close();
            // The class's other tests and its cleanup use a fixture with an open adapter.
            xen = new Dom0Fixture();
        }
    }
}
