package io.avance.testkit.hypervisor;

import org.junit.jupiter.api.Nested;

/**
 * Every hypervisor contract suite at once: subclass this, implement the two required hooks of
 * {@link AdapterUnderTest} (and the optional ones your adapter can offer), and JUnit runs
 * {@link LifecycleContract}, {@link EventsContract}, {@link GuestMemoryContract},
 * {@link MigrationContract} and {@link NativeMigrationContract} as nested groups. Tests that
 * need a capability or hook the adapter lacks are reported as aborted, not passed.
 *
 * <pre>{@code
 * class XenAdapterContractTest extends HypervisorAdapterContract {
 *     public HypervisorAdapter createAdapter() { return new XenAdapter(); }
 *     public VmSpec vmSpec(String name) {
 *         return new VmSpec(name, 1, 128L << 20, List.of(), List.of(),
 *                 Map.of("xen.kernel", "/opt/avance/tck/vmlinuz"));
 *     }
 * }
 * }</pre>
 */
public abstract class HypervisorAdapterContract implements AdapterUnderTest {

    /** The lifecycle suite, with this class's hooks. */
    @Nested
    class Lifecycle extends LifecycleContract {
        @Override
        protected AdapterUnderTest underTest() {
            return HypervisorAdapterContract.this;
        }
    }

    /** The events suite, with this class's hooks. */
    @Nested
    class Events extends EventsContract {
        @Override
        protected AdapterUnderTest underTest() {
            return HypervisorAdapterContract.this;
        }
    }

    /** The guest memory suite, with this class's hooks. */
    @Nested
    class Memory extends GuestMemoryContract {
        @Override
        protected AdapterUnderTest underTest() {
            return HypervisorAdapterContract.this;
        }
    }

    /** The memory-copy migration suite, with this class's hooks. */
    @Nested
    class Migration extends MigrationContract {
        @Override
        protected AdapterUnderTest underTest() {
            return HypervisorAdapterContract.this;
        }
    }

    /** The native migration suite, with this class's hooks. */
    @Nested
    class Native extends NativeMigrationContract {
        @Override
        protected AdapterUnderTest underTest() {
            return HypervisorAdapterContract.this;
        }
    }
}
