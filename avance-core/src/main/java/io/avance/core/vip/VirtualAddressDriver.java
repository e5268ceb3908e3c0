package io.avance.core.vip;

import java.io.IOException;

/**
 * Puts a virtual address on an interface, takes it off, and announces it to the network
 * (gratuitous ARP), so that switches and neighbours send its traffic to this node at once
 * instead of when their caches time out.
 *
 * <p>Implementations are called from one thread of the {@link VirtualAddressAgent}; they must be
 * idempotent (adding a held address or removing an absent one is not an error), because the
 * agent reconciles periodically as well as on role changes.
 */
public interface VirtualAddressDriver {

    /**
     * Adds an address to an interface, if it is not there.
     *
     * @param interfaceName the interface
     * @param address       the address with its prefix length, such as 192.0.2.10/24
     * @throws IOException if it cannot be added
     */
    void add(String interfaceName, String address) throws IOException;

    /**
     * Removes an address from an interface, if it is there.
     *
     * @param interfaceName the interface
     * @param address       the address with its prefix length
     * @throws IOException if it cannot be removed
     */
    void remove(String interfaceName, String address) throws IOException;

    /**
     * Tells whether an interface holds an address.
     *
     * @param interfaceName the interface
     * @param address       the address with its prefix length
     * @return true if it does
     * @throws IOException if the interface cannot be read
     */
    boolean holds(String interfaceName, String address) throws IOException;

    /**
     * Announces that this node now answers for an address (gratuitous ARP).
     *
     * @param interfaceName the interface it is on
     * @param ip            the address, without prefix length
     * @throws IOException if the announcement cannot be sent
     */
    void announce(String interfaceName, String ip) throws IOException;
}
