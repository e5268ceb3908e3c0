package io.avance.core.config;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * One public network of a node: where this node sends and receives health heartbeats on it, where
 * the peer does, and optionally an address to probe to tell whether this node's own connection
 * to the network works.
 *
 * @param name        the network's name (letters, digits, {@code . _ -}), as VMs refer to it
 * @param bind        this node's address on the network, for heartbeats (UDP)
 * @param peerAddress the peer's heartbeat address on the same network
 * @param probe       an address on the network that answers TCP connections (a gateway, a
 *                    switch's management port); if set, failing to reach it marks the network
 *                    down on this node
 */
public record PublicPath(String name, InetSocketAddress bind, InetSocketAddress peerAddress,
                         Optional<InetSocketAddress> probe) {

    /**
     * Validates the fields.
     */
    public PublicPath {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(peerAddress, "peerAddress");
        Objects.requireNonNull(probe, "probe");
    }
}
