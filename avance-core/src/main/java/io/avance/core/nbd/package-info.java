/**
 * The NBD server: serves the primary's replicated volumes to unmodified clients (QEMU, Xen's
 * qdisk, the Linux nbd driver, qemu-img, nbdcopy, fio) over the fixed newstyle NBD protocol.
 *
 * <p>{@link io.avance.core.nbd.NbdServer} listens; each connection negotiates in
 * {@link io.avance.core.nbd.NbdHandshake} and then runs requests in
 * {@link io.avance.core.nbd.NbdTransmission}, which hands them to the volume's replication
 * engine. What the server supports, and how each error maps to the spec's codes, is in
 * docs/nbd.md.
 */
package io.avance.core.nbd;
