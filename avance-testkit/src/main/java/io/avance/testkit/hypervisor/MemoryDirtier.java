package io.avance.testkit.hypervisor;

import java.util.function.Consumer;

/**
 * Dirties guest memory at {@code sim.dirty-rate}: each unit is one random page of the scratch
 * region, into which it stores a random long at a random place (a real write, so the page is
 * both dirty and no longer zero). This is the workload that makes a live migration converge, or
 * not.
 */
final class MemoryDirtier extends PacedWriter {

    private final GuestRam ram;
    private final long firstPage;
    private final long pages;

    MemoryDirtier(GuestRam ram, GuestLayout layout, GuestGate gate, long bytesPerSecond, long randomState,
                  Consumer<Throwable> onFault) {
        super(gate, bytesPerSecond, GuestRam.PAGE_SIZE, 64, randomState, onFault);
        this.ram = ram;
        this.firstPage = layout.scratchFirstPage();
        this.pages = layout.scratchPages();
    }

    @Override
    protected void writeOne() {
        long page = firstPage + random.nextBelow(pages);
        long slot = random.nextBelow(GuestRam.PAGE_SIZE / Long.BYTES);
        ram.putLong(page * GuestRam.PAGE_SIZE + slot * Long.BYTES, random.next() | 1);
    }
}
