package io.avance.api.hypervisor;

import io.avance.api.replication.Volume;
import java.net.URI;

/**
 * How a VM reaches one of its disks: the volume itself (for an in-process hypervisor) and the
 * NBD address it is exported on (for QEMU, Xen's qdisk backend or the Linux nbd driver).
 *
 * @param volume the replicated volume
 * @param nbdUri its export, such as {@code nbd://127.0.0.1:10809/vm1-disk0}
 */
public record DiskAttachment(Volume volume, URI nbdUri) {
}
