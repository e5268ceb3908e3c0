package io.avance.core.vip;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Where one virtual address stands on one node.
 *
 * <pre>
 *              node serves                      primary lost the network (rule 4)
 *   RELEASED -------------------&gt; HELD -------------------------------------&gt; RETURNING
 *      ^  ^                        |  ^                                            |
 *      |  '----stops serving-------'  '---network back---------------------------'
 *      |                                                                          |
 *      |  primary lost the network, this backup has it (rule 4)                   | stops serving
 *      '----------------------&gt; FORWARDING ---node serves (failover done)--&gt; HELD |
 *      '---network back, or the primary went away----'                            v
 *                                                                              RELEASED
 * </pre>
 *
 * <ul>
 *   <li>{@link #RELEASED}: the address is not on this node.</li>
 *   <li>{@link #HELD}: on the public interface, announced by gratuitous ARP; only the serving primary.</li>
 *   <li>{@link #RETURNING}: held, and also on {@code lo}, with the network's replies routed through the
 *       backup, because this primary lost the network.</li>
 *   <li>{@link #FORWARDING}: this backup answers for the address (proxy ARP) and routes it to the primary
 *       over the private network.</li>
 * </ul>
 */
enum AddressState {
    RELEASED,
    HELD,
    RETURNING,
    FORWARDING;

    private static final Map<AddressState, Set<AddressState>> LEGAL = Map.of(
            RELEASED, EnumSet.of(HELD, FORWARDING),
            HELD, EnumSet.of(RELEASED, RETURNING),
            RETURNING, EnumSet.of(HELD, RELEASED),
            FORWARDING, EnumSet.of(RELEASED, HELD));

    /** Tells whether a move to another state is legal. */
    boolean canMoveTo(AddressState next) {
        return LEGAL.get(this).contains(next);
    }
}
