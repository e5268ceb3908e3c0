/**
 * The paths between the two nodes: the private link (one authenticated TCP connection on Netty)
 * and the public networks (authenticated UDP heartbeats).
 *
 * <p>The private link accepts nothing but a handshake until both sides have proved, without
 * sending it, that they hold the pairing secret: each sends a HELLO with a fresh nonce, then an
 * HMAC-SHA256 over both HELLOs and its own side, then READY once it has checked the other's
 * proof ({@link io.avance.core.link.HandshakeHandler}). Only then are frames handed to the engine.
 * A malformed frame, garbage, a failed or slow handshake closes that one connection with a log
 * line that says why; the node keeps running.
 *
 * <p>Public-network heartbeats are single datagrams: a frame followed by a truncated HMAC under a
 * key derived from the pairing secret ({@link io.avance.core.link.PairingKey}). They let a node
 * tell a dead private link from a dead peer.
 */
package io.avance.core.link;
