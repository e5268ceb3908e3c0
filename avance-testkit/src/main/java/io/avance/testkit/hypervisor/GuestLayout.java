package io.avance.testkit.hypervisor;

/**
 * Where a simulated guest keeps things, in memory and on its first disk.
 *
 * <pre>
 *  guest memory (kv)                          first disk (kv, or idle with sim.disk-rate)
 *  +--------------------+ 0                   +----------------------------+ 0
 *  | table header page  |                     | PUT log: records back to   |
 *  +--------------------+ 4096                |  back from offset 0        |
 *  | hash table:        |                     |  (see {@link KvLog})        |
 *  |  slots of 256 bytes|                     |                            |
 *  |  (a quarter of the |                     +----------------------------+ 3/4 of the disk
 *  |  memory, rounded   |                     | scratch: sim.disk-rate     |
 *  |  down to a power   |                     |  writes 4 KiB blocks here  |
 *  |  of two slots)     |                     +----------------------------+ end
 *  +--------------------+ scratch start
 *  | scratch: sim.dirty-|      The idle program has no table: all of its memory is scratch.
 *  |  rate writes here  |      The log area never moves, whatever the rates, so that a
 *  +--------------------+ end  log written under one set of options replays under another.
 * </pre>
 *
 * @param memoryBytes      the guest's memory
 * @param tableSlots       slots in the kv hash table (0 for the idle program)
 * @param scratchFirstPage the first page the dirtier may write
 * @param scratchPages     how many pages it may write
 */
record GuestLayout(long memoryBytes, long tableSlots, long scratchFirstPage, long scratchPages) {

    /** Where the table's header lives. */
    static final long HEADER_ADDRESS = 0;
    /** Where the table's slots start: right after the header page. */
    static final long TABLE_ADDRESS = GuestRam.PAGE_SIZE;
    /** Bytes per slot; 16 slots per page, so that no slot straddles a page. */
    static final int SLOT_BYTES = 256;

    /**
     * The layout for a program and memory size.
     *
     * @param program     the guest program
     * @param memoryBytes its memory, a multiple of 1 MiB
     * @return the layout
     */
    static GuestLayout of(GuestOptions.Program program, long memoryBytes) {
        long pages = memoryBytes / GuestRam.PAGE_SIZE;
        if (program == GuestOptions.Program.IDLE) {
            return new GuestLayout(memoryBytes, 0, 0, pages);
        }
        long slots = Long.highestOneBit(Math.max(1, memoryBytes / 4 / SLOT_BYTES));
        slots = Math.max(slots, GuestRam.PAGE_SIZE / SLOT_BYTES);
        long tableEnd = TABLE_ADDRESS + slots * SLOT_BYTES;
        long scratchFirst = tableEnd / GuestRam.PAGE_SIZE;
        return new GuestLayout(memoryBytes, slots, scratchFirst, Math.max(0, pages - scratchFirst));
    }

    /**
     * The size of the log area at the start of a disk: three quarters of it, in whole 4 KiB blocks.
     *
     * @param diskBytes the disk's size
     * @return the log area's size in bytes
     */
    static long logAreaBytes(long diskBytes) {
        return diskBytes / 4 * 3 / 4096 * 4096;
    }
}
