package io.avance.api.health;

/**
 * The parts of a node whose faults the pair tracks.
 */
public enum Component {
    /** A local disk holding volume data or the node's own system. */
    DISK,
    /** A cooling fan. */
    FAN,
    /** A power supply unit. */
    POWER_SUPPLY,
    /** A public network: the node's connection to the clients of its VMs. */
    PUBLIC_NETWORK,
    /** The dedicated link between the two nodes of the pair. */
    PRIVATE_LINK,
    /** A processor. */
    CPU,
    /** Main memory. */
    MEMORY,
    /** The hypervisor that runs the VMs on this node. */
    HYPERVISOR,
    /** A virtual machine (its location is the VM's name). */
    VM
}
