package io.avance.xen;

import io.avance.api.hypervisor.Availability;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decides, from files only, whether this machine is a Xen dom0 the adapter can drive, before
 * anything touches libxl.
 *
 * <p>Why files first: without Xen, {@code libxl_ctx_alloc} fails (-3, errno 2), but some
 * failure paths of the Xen libraries crash the process instead of returning; and a dom0
 * without a running xenstored makes xenstore calls block for ever. The checks follow libvirt's
 * rule ({@code /proc/xen/capabilities} contains {@code control_d}) and add the two devices and
 * the daemon libxl needs. Stateless; thread-safe.
 */
final class XenProbe {

    private final Path root;

    /**
     * A probe of the machine.
     *
     * @param root the file-system root, {@code /} except in tests
     */
    XenProbe(Path root) {
        this.root = root;
    }

    /**
     * Checks for Xen, in the order an operator would fix things.
     *
     * @return available, or the first thing missing
     */
    Availability check() {
        Path capabilities = root.resolve("proc/xen/capabilities");
        if (!Files.exists(root.resolve("proc/xen"))) {
            return Availability.no("not running on Xen: /proc/xen does not exist (no Xen hypervisor, or the"
                    + " xenfs file system is not mounted: modprobe xen-privcmd xenfs; mount -t xenfs xenfs /proc/xen)");
        }
        if (!Files.isReadable(capabilities)) {
            return Availability.no("xenfs is not mounted on /proc/xen (/proc/xen/capabilities is missing):"
                    + " modprobe xen-privcmd xenfs; mount -t xenfs xenfs /proc/xen");
        }
        String text;
        try {
            text = Files.readString(capabilities, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return Availability.no("cannot read /proc/xen/capabilities: " + e.getMessage());
        }
        if (!text.contains("control_d")) {
            return Availability.no("this is a Xen guest (domU), not dom0: /proc/xen/capabilities lacks control_d");
        }
        if (!Files.exists(root.resolve("dev/xen/privcmd"))) {
            return Availability.no("/dev/xen/privcmd is missing: load the xen-privcmd module (modprobe xen-privcmd)");
        }
        if (!Files.exists(root.resolve("dev/xen/evtchn"))) {
            return Availability.no("/dev/xen/evtchn is missing: load the xen-evtchn module (modprobe xen-evtchn)");
        }
        if (!Files.exists(root.resolve("var/run/xenstored/socket")) && !Files.exists(root.resolve("run/xenstored/socket"))
                && !Files.exists(root.resolve("var/run/xenstored.pid"))) {
            return Availability.no("xenstored is not running (no /var/run/xenstored/socket): start it, for example"
                    + " with /etc/init.d/xen start");
        }
        if (!Files.isDirectory(root.resolve("var/run/xen")) && !Files.isDirectory(root.resolve("run/xen"))) {
            return Availability.no("/var/run/xen is missing: libxl keeps its lock files there (Debian's"
                    + " /etc/init.d/xen creates it)");
        }
        return Availability.yes();
    }
}
