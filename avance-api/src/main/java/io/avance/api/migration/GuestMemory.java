package io.avance.api.migration;

import java.nio.ByteBuffer;

/**
 * Access to one VM's guest memory, page by page, with dirty-page logging.
 *
 * <p>Provided by a {@link io.avance.api.hypervisor.HypervisorAdapter} that has the
 * {@code GUEST_MEMORY_ACCESS} capability (and {@code DIRTY_PAGE_LOGGING} for the source of a
 * live migration). Calls are made from one migration thread at a time; implementations need not
 * be thread-safe against concurrent callers, but must be safe against the running guest.
 */
public interface GuestMemory {

    /**
     * The page size.
     *
     * @return bytes per page, a power of two (4096 on x86)
     */
    int pageSizeBytes();

    /**
     * The number of pages.
     *
     * @return the guest's memory size divided by the page size
     */
    long pageCount();

    /**
     * Copies pages into a buffer.
     *
     * @param firstPage   the first page's index
     * @param pageCount   how many consecutive pages
     * @param destination receives {@code pageCount * pageSizeBytes()} bytes at its position, which
     *                    advances
     * @throws IndexOutOfBoundsException if the range is outside the guest's memory
     * @throws MigrationException        if a page cannot be read (the adapter checks for bad pages
     *                                   and never lets a read crash the process)
     */
    void readPages(long firstPage, int pageCount, ByteBuffer destination);

    /**
     * Copies pages from a buffer into guest memory (the target side of a migration).
     *
     * @param firstPage the first page's index
     * @param pageCount how many consecutive pages
     * @param source    supplies {@code pageCount * pageSizeBytes()} bytes at its position, which
     *                  advances
     * @throws IndexOutOfBoundsException if the range is outside the guest's memory
     */
    void writePages(long firstPage, int pageCount, ByteBuffer source);

    /**
     * Fills a range of pages with zeros (cheaper than writing a zero page as data).
     *
     * @param firstPage the first page's index
     * @param pageCount how many consecutive pages
     */
    void zeroPages(long firstPage, int pageCount);

    /**
     * Starts recording which pages the guest writes. Every page counts as dirty at the start.
     *
     * @throws UnsupportedOperationException if the adapter cannot log dirty pages for this VM
     */
    void startDirtyLogging();

    /**
     * Reports the pages written since the last call (or since logging started) and clears the
     * record, atomically with respect to the guest: a page written during the call is reported
     * now or next time, never lost.
     *
     * @param bitmap receives one bit per page (bit {@code i % 64} of word {@code i / 64}),
     *               OR-ed into what it holds; at least {@code ceil(pageCount() / 64)} words
     */
    void fetchAndClearDirtyPages(long[] bitmap);

    /**
     * Stops recording dirty pages.
     */
    void stopDirtyLogging();
}
