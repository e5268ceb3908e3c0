package io.avance.xen;

/**
 * What libxl reported about one domain at one moment, copied out of native memory.
 *
 * @param domid          Xen's domain id
 * @param name           the domain's name in xenstore (the VM's name, or a migration name)
 * @param running        a virtual CPU is running
 * @param blocked        every virtual CPU is blocked (idle)
 * @param paused         paused by the toolstack
 * @param shutdown       the guest has shut down (see {@code shutdownReason}); the domain
 *                       still holds its memory until it is destroyed
 * @param dying          being destroyed
 * @param shutdownReason {@code libxl_shutdown_reason}
 * @param currentKib     memory the domain holds now
 * @param maximumKib     the memory limit
 * @param onlineVcpus    virtual CPUs online
 * @param domainType     {@code libxl_domain_type} (PVH guests report HVM)
 */
record DomainSnapshot(int domid, String name, boolean running, boolean blocked, boolean paused, boolean shutdown,
                      boolean dying, int shutdownReason, long currentKib, long maximumKib, int onlineVcpus,
                      int domainType) {
}
