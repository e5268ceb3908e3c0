/**
 * The simulated hypervisor, Avance's embedded default, and the contract suites (TCKs) every
 * {@link io.avance.api.hypervisor.HypervisorAdapter} must pass.
 *
 * <h2>The simulated hypervisor</h2>
 * {@link io.avance.testkit.hypervisor.SimulatedHypervisor} runs each VM as a guest program inside
 * this process, with real guest memory (off-heap 4 KiB pages with a dirty-page log, allocated
 * lazily in 64 MiB chunks) and real disks (the engine's volumes). The {@code kv} guest is a
 * key-value service whose table lives in guest memory and whose PUTs are logged on its disk with
 * FUA before they are acknowledged: migrating its memory moves its state, and a reboot or a
 * takeover on the other node replays its log. {@link io.avance.testkit.hypervisor.KvClient}
 * talks to it over TCP, rides through migrations and failovers, and checks that no acknowledged
 * write was lost. It is what {@code avance demo} and most tests run VMs on; it is registered for
 * {@link java.util.ServiceLoader}.
 *
 * <h2>The contract suites</h2>
 * Abstract JUnit 5 classes, one per area: {@link io.avance.testkit.hypervisor.LifecycleContract},
 * {@link io.avance.testkit.hypervisor.EventsContract},
 * {@link io.avance.testkit.hypervisor.GuestMemoryContract},
 * {@link io.avance.testkit.hypervisor.MigrationContract} (a memory-copy migration between two
 * adapters, done in-process by the test) and
 * {@link io.avance.testkit.hypervisor.NativeMigrationContract} (through the hypervisor's own
 * stream, over a loopback TCP connection), all on
 * {@link io.avance.testkit.hypervisor.HypervisorContractSupport}.
 * {@link io.avance.testkit.hypervisor.HypervisorAdapterContract} runs them all as nested groups.
 * An adapter author implements the hooks of
 * {@link io.avance.testkit.hypervisor.AdapterUnderTest}: two are required, the rest make the
 * suites stronger where the adapter can offer them.
 * <pre>{@code
 * class XenAdapterContractTest extends HypervisorAdapterContract {
 *     public HypervisorAdapter createAdapter() { return new XenAdapter(); }
 *     public VmSpec vmSpec(String name) {             // a small guest the adapter can boot
 *         return new VmSpec(name, 1, 128L << 20, List.of(), List.of(),
 *                 Map.of("xen.kernel", "/opt/avance/tck/vmlinuz"));
 *     }
 *     public Duration bootTimeout() { return Duration.ofSeconds(90); }   // optional
 *     public boolean crash(HypervisorAdapter adapter, String vm) {      // optional
 *         return XenTestTools.panic(vm);
 *     }
 * }
 * }</pre>
 * To run one suite alone, extend it and return your hooks from
 * {@link io.avance.testkit.hypervisor.HypervisorContractSupport#underTest()}.
 *
 * <p>A test that needs a capability the adapter does not list (PAUSE, REBOOT, guest memory, dirty
 * logging, device state, native migration) or a hook it does not offer (crash) is reported as
 * aborted by assumption, never as passed; read the aborted list as "not verified". A test polls
 * with a deadline ({@link io.avance.testkit.hypervisor.AdapterUnderTest#bootTimeout()}) or waits
 * for an event, never sleeps for a condition. After each test, every VM the suite named is
 * destroyed and undefined on every adapter it opened.
 *
 * <h2>Dependencies</h2>
 * The contract classes ({@code AdapterUnderTest}, {@code HypervisorContractSupport}, the
 * {@code *Contract} classes, {@code EventRecorder}, {@code SimpleHypervisorContext}) use only
 * {@code avance-api}, JUnit 5 and the {@code java.base} module, so that the Xen binding can run
 * them inside a dom0 on a minimal jlinked JRE with just those jars. A test in this module checks
 * that. {@link io.avance.testkit.hypervisor.StandaloneVolumes}, which opens real engine volumes
 * for VMs' disks, uses {@code avance-core} and is kept apart from them.
 */
package io.avance.testkit.hypervisor;
