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

    /**
     * The backup's half of rule 4: answers for an address it does not hold (proxy ARP, announced
     * by gratuitous ARP from this node) and routes its traffic to the primary over the private
     * network.
     *
     * @param interfaceName the public interface the address's clients are on
     * @param ip            the address, without prefix length
     * @param via           the primary's address on the private network
     * @throws IOException if it cannot be set up
     */
    void forward(String interfaceName, String ip, String via) throws IOException;

    /**
     * Undoes {@link #forward}, if it was done.
     *
     * @param interfaceName the public interface
     * @param ip            the address
     * @param via           the primary's address on the private network
     * @throws IOException if it cannot be undone
     */
    void stopForwarding(String interfaceName, String ip, String via) throws IOException;

    /**
     * The primary's half of rule 4, while its public interface is cut off: keeps the address
     * local whatever happens to that interface, and routes replies to the address's network
     * through the backup.
     *
     * @param ip     the address, without prefix length
     * @param halves the address's network in two halves (more specific than the interface's route)
     * @param via    the backup's address on the private network
     * @throws IOException if it cannot be set up
     */
    void returnThrough(String ip, java.util.List<String> halves, String via) throws IOException;

    /**
     * Undoes {@link #returnThrough}, if it was done.
     *
     * @param ip     the address
     * @param halves the routes it added
     * @param via    the backup's address on the private network
     * @throws IOException if it cannot be undone
     */
    void stopReturning(String ip, java.util.List<String> halves, String via) throws IOException;
}
