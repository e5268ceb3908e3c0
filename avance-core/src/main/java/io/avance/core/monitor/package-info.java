/**
 * The browser monitor: an HTTPS server on Netty's HTTP codec, served by each node, that shows the
 * pair as one system and takes operator actions.
 *
 * <p>Why Netty's own codec rather than an embeddable servlet container: the engine already runs
 * on Netty (same event loops, same TLS stack, same leak detection in tests), the monitor needs
 * only a dozen routes, server-sent events and static files, and a second HTTP stack would double
 * the dependencies an embedding product has to vet and patch.
 *
 * <p>Security, in the order a request meets it:
 * <ul>
 *   <li>TLS always: a configured PKCS#12 keystore, or a self-signed certificate made on first
 *       start and kept in the data directory ({@link io.avance.core.monitor.TlsMaterial}); its
 *       SHA-256 fingerprint is logged so an operator can check it in the browser.</li>
 *   <li>Users with roles ({@link io.avance.core.monitor.Role}) in a users file, passwords stored
 *       as salted PBKDF2-HMAC-SHA512 hashes ({@link io.avance.core.monitor.PasswordHash}).</li>
 *   <li>Sessions in a cookie that is {@code Secure; HttpOnly; SameSite=Strict}; they expire
 *       when idle. Every page and API call without a valid session gets 401.</li>
 *   <li>Every state-changing request (POST) needs the session's CSRF token in a header and, when
 *       the browser sends one, an Origin of this server; a cross-site form therefore fails twice
 *       over (no cookie, no token).</li>
 *   <li>Repeated failed logins lock the user name and the client address out for a while
 *       ({@link io.avance.core.monitor.LoginThrottle}).</li>
 *   <li>A viewer sees everything and changes nothing; operators act; only administrators resolve
 *       a split brain (it discards data).</li>
 * </ul>
 *
 * <p>What each node shows of the peer: its role, health score and faults down to the component,
 * from the peer's heartbeats; VMs from the replicated catalog; volumes as this node knows them
 * (its own replication state, and the peer's data state as the replication protocol reports
 * it). The monitors do not call each other: whichever node a browser reaches, it sees the same
 * pair, with the volume details of the node it is on.
 */
package io.avance.core.monitor;
