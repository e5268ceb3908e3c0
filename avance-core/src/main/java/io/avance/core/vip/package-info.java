/**
 * The pair's public addresses: for each public network, one virtual IP address that only the
 * serving primary holds. {@link io.avance.core.vip.VirtualAddressDriver} is the small SPI that
 * adds, removes and announces an address; {@link io.avance.core.vip.LinuxVirtualAddressDriver}
 * implements it with {@code ip addr} and {@code arping}; {@link io.avance.core.vip.VirtualAddressAgent}
 * follows the node's role and keeps the addresses where they belong.
 */
package io.avance.core.vip;
