package io.avance.xen;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Translates a {@link VmSpec} into libxl's JSON domain configuration (the form
 * {@code libxl_domain_config_from_json} reads, and {@code xl migrate} sends), after validating
 * it ourselves.
 *
 * <p>Why validate here: libxl's JSON parser silently ignores keys it does not know and accepts
 * {@code "max_vcpus":"two"} (verified), so a typo would produce a different VM, not an error.
 * The adapter therefore (1) accepts only the options listed below, with checked values,
 * (2) writes every key itself, and (3) after libxl has parsed the text, reads libxl's own
 * rendering back ({@link #checkRoundTrip}) and requires every value it sent to be there.
 *
 * <p>Options (everything else is refused):
 * <ul>
 *   <li>{@code xen.type}: {@code pvh} (the default) or {@code hvm}. PV is refused: Debian's
 *       Xen 4.17 is built without shadow paging, so a PV guest can neither log dirty pages nor
 *       live-migrate.</li>
 *   <li>{@code xen.kernel}: the absolute path, in dom0, of a kernel to boot. Without it a PVH
 *       guest boots from its first disk through pvgrub2 (GRUB built as a PVH kernel, from
 *       Debian's {@code grub-xen-host}), which reads {@code /boot/grub/grub.cfg} there.</li>
 *   <li>{@code xen.pvgrub}: the pvgrub2 image for that (default {@value #DEFAULT_PVGRUB}).</li>
 *   <li>{@code xen.ramdisk}: the absolute path of an initial ramdisk (needs a kernel).</li>
 *   <li>{@code xen.cmdline}: the kernel command line (at most 2048 bytes).</li>
 *   <li>{@code xen.cpus}: the physical CPUs every vCPU of the guest may run on (hard affinity),
 *       as {@code xl}'s {@code cpus} writes them: CPU numbers and ranges separated by commas,
 *       {@code 2-3} or {@code 0,4-7}. For keeping guests off the CPUs that dom0 is pinned to
 *       ({@code dom0_vcpus_pin}). The numbers are the host's: the other host of the pair needs
 *       the same ones, since a migrated or rebuilt guest keeps its spec.</li>
 * </ul>
 *
 * <p>Disks are the volumes' NBD exports, attached in dom0 by the hotplug script
 * {@value #DISK_SCRIPT} (in the Debian package: {@code nbd-client} makes a {@code /dev/nbdN} that
 * the kernel's blkback hands to the guest). Not libxl's {@code qdisk}: for a PV or PVH guest, QEMU's
 * Xen block backend opens only local files and devices ({@code stat} of the path), so an
 * {@code nbd://} target never appears in the guest. Networks become vifs on the dom0 bridge named
 * after the network, with a MAC address derived from the VM's name when none is given, so that
 * the guest keeps its address when it is rebuilt on the other host. Both need dom0 services (the
 * hotplug scripts, nbd-client, the bridge) that the adapter does not set up. Stateless and
 * thread-safe.
 */
final class DomainConfigJson {

    /** The guest type option. */
    static final String TYPE = "xen.type";
    /** The kernel option. */
    static final String KERNEL = "xen.kernel";
    /** The ramdisk option. */
    static final String RAMDISK = "xen.ramdisk";
    /** The command line option. */
    static final String CMDLINE = "xen.cmdline";
    /** The pvgrub2 image option. */
    static final String PVGRUB = "xen.pvgrub";
    /** The CPU affinity option. */
    static final String CPUS = "xen.cpus";
    /** Every option the adapter knows. */
    static final Set<String> OPTIONS = Set.of(TYPE, KERNEL, RAMDISK, CMDLINE, PVGRUB, CPUS);
    /** The highest physical CPU number {@code xen.cpus} may name (Xen's {@code NR_CPUS} is at most 4096). */
    static final int MAX_CPU = 4095;
    /** Debian's pvgrub2 for PVH guests (package grub-xen-host). */
    static final String DEFAULT_PVGRUB = "/usr/lib/grub-xen/grub-i386-xen_pvh.bin";
    /** The block hotplug script that attaches an NBD export in dom0 (in /etc/xen/scripts). */
    static final String DISK_SCRIPT = "block-avance-nbd";
    /** {@code HVM_MAX_VCPUS} in Xen 4.17: the most virtual CPUs an HVM or PVH guest may have. */
    static final int MAX_VCPUS = 128;
    /** x86 Linux's {@code COMMAND_LINE_SIZE}. */
    static final int MAX_CMDLINE_BYTES = 2048;

    private static final Pattern PATH = Pattern.compile("/[^\\u0000\\n\\r]*");
    private static final Pattern CPU_LIST = Pattern.compile("\\d{1,4}(-\\d{1,4})?(,\\d{1,4}(-\\d{1,4})?)*");

    /** The guest types the adapter supports. */
    enum GuestType {
        /** PVH: a paravirtualised kernel in an HVM container; no device model needed. */
        PVH,
        /** HVM: full virtualisation; needs QEMU (qemu-system-xen) as device model in dom0. */
        HVM
    }

    /**
     * The validated Xen options of a spec.
     *
     * @param type    the guest type
     * @param kernel  the kernel path
     * @param ramdisk the ramdisk path
     * @param cmdline the kernel command line
     * @param cpus    the physical CPUs the guest's vCPUs may run on, ascending; empty for any
     */
    record Settings(GuestType type, Optional<String> kernel, Optional<String> ramdisk, Optional<String> cmdline,
            List<Integer> cpus) {
    }

    private DomainConfigJson() {
    }

    /**
     * Checks a spec's Xen options and limits.
     *
     * @param spec the VM
     * @return its settings
     * @throws HypervisorException naming the option and the bad value
     */
    static Settings validate(VmSpec spec) {
        for (String key : spec.options().keySet()) {
            if (!OPTIONS.contains(key)) {
                throw refuse(spec, "unknown option '" + key + "' (the Xen adapter knows " + String.join(", ",
                        OPTIONS.stream().sorted().toList()) + ")");
            }
        }
        String typeText = spec.option(TYPE).orElse("pvh");
        GuestType type = switch (typeText) {
            case "pvh" -> GuestType.PVH;
            case "hvm" -> GuestType.HVM;
            case "pv" -> throw refuse(spec, "xen.type 'pv' is not supported: Debian's Xen 4.17 has no shadow"
                    + " paging, so a PV guest can neither log dirty pages nor live-migrate; use pvh or hvm");
            default -> throw refuse(spec, "xen.type must be pvh or hvm, was '" + typeText + "'");
        };
        Optional<String> kernel = spec.option(KERNEL);
        Optional<String> ramdisk = spec.option(RAMDISK);
        Optional<String> cmdline = spec.option(CMDLINE);
        kernel.ifPresent(path -> checkPath(spec, KERNEL, path));
        ramdisk.ifPresent(path -> checkPath(spec, RAMDISK, path));
        spec.option(PVGRUB).ifPresent(path -> checkPath(spec, PVGRUB, path));
        if (type == GuestType.PVH && kernel.isEmpty() && spec.disks().isEmpty()) {
            throw refuse(spec, "a PVH guest needs xen.kernel, the path of its kernel in dom0, or a disk to boot"
                    + " from (through pvgrub2)");
        }
        if (spec.option(PVGRUB).isPresent() && (type != GuestType.PVH || kernel.isPresent())) {
            throw refuse(spec, "xen.pvgrub boots a PVH guest from its disk: it goes with xen.type pvh and no"
                    + " xen.kernel");
        }
        if (kernel.isEmpty() && type == GuestType.PVH) {
            kernel = Optional.of(spec.option(PVGRUB).orElse(DEFAULT_PVGRUB));
        }
        if (ramdisk.isPresent() && kernel.isEmpty()) {
            throw refuse(spec, "xen.ramdisk needs xen.kernel");
        }
        if (cmdline.isPresent()) {
            String text = cmdline.get();
            if (text.indexOf('\0') >= 0 || text.indexOf('\n') >= 0) {
                throw refuse(spec, "xen.cmdline must be one line without NUL characters");
            }
            if (text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_CMDLINE_BYTES) {
                throw refuse(spec, "xen.cmdline is longer than " + MAX_CMDLINE_BYTES + " bytes");
            }
        }
        if (spec.cores() > MAX_VCPUS) {
            throw refuse(spec, "cores must be at most " + MAX_VCPUS + " for an HVM or PVH guest, was "
                    + spec.cores());
        }
        if (spec.disks().size() > 26) {
            throw refuse(spec, "at most 26 disks (xvda to xvdz), was " + spec.disks().size());
        }
        List<Integer> cpus = spec.option(CPUS).map(text -> cpuList(spec, text)).orElse(List.of());
        return new Settings(type, kernel, ramdisk, cmdline, cpus);
    }

    /** Parses {@code xen.cpus}: {@code 2}, {@code 2-3}, {@code 0,4-7}; at least one CPU. */
    private static List<Integer> cpuList(VmSpec spec, String text) {
        if (!CPU_LIST.matcher(text).matches()) {
            throw refuse(spec, CPUS + " must list CPU numbers and ranges separated by commas, like 2-3 or 0,4-7,"
                    + " was '" + text + "'");
        }
        TreeSet<Integer> cpus = new TreeSet<>();
        for (String part : text.split(",")) {
            String[] ends = part.split("-");
            int from = Integer.parseInt(ends[0]);
            int to = ends.length == 2 ? Integer.parseInt(ends[1]) : from;
            if (to < from || to > MAX_CPU) {
                throw refuse(spec, CPUS + " has the range '" + part + "': CPU numbers go up, from 0 to " + MAX_CPU);
            }
            for (int cpu = from; cpu <= to; cpu++) {
                cpus.add(cpu);
            }
        }
        return List.copyOf(cpus);
    }

    private static void checkPath(VmSpec spec, String key, String path) {
        if (!PATH.matcher(path).matches()) {
            throw refuse(spec, key + " must be an absolute path in dom0, was '" + path + "'");
        }
    }

    private static HypervisorException refuse(VmSpec spec, String why) {
        return new HypervisorException("VM '" + spec.name() + "' refused: " + why);
    }

    /**
     * Builds the configuration libxl will parse.
     *
     * @param spec       the VM (validated by {@link #validate})
     * @param domainName the domain's name (the VM's, or a migration name)
     * @param uuid       the VM's UUID, kept across restarts and migrations
     * @param disks      the NBD export of each of {@code spec.disks()}, in order
     * @return the configuration as a JSON tree, in the order it is written
     */
    static Map<String, Object> build(VmSpec spec, String domainName, UUID uuid, List<URI> disks) {
        Settings settings = validate(spec);
        if (disks.size() != spec.disks().size()) {
            throw new IllegalArgumentException("need one export per disk: " + disks.size() + " for "
                    + spec.disks().size());
        }
        String type = settings.type().name().toLowerCase(Locale.ROOT);
        Map<String, Object> createInfo = new LinkedHashMap<>();
        createInfo.put("type", type);
        createInfo.put("name", domainName);
        createInfo.put("uuid", uuid.toString());
        Map<String, Object> buildInfo = new LinkedHashMap<>();
        long kib = spec.memoryBytes() / 1024;
        buildInfo.put("max_vcpus", (long) spec.cores());
        buildInfo.put("max_memkb", kib);
        buildInfo.put("target_memkb", kib);
        settings.kernel().ifPresent(path -> buildInfo.put("kernel", path));
        settings.ramdisk().ifPresent(path -> buildInfo.put("ramdisk", path));
        settings.cmdline().ifPresent(text -> buildInfo.put("cmdline", text));
        if (!settings.cpus().isEmpty()) {
            // One bitmap per vCPU, as xl's cpus= makes; libxl writes a bitmap as its set bits.
            List<Object> affinity = new ArrayList<>();
            for (int vcpu = 0; vcpu < spec.cores(); vcpu++) {
                affinity.add(settings.cpus().stream().map(Integer::longValue).toList());
            }
            buildInfo.put("vcpu_hard_affinity", affinity);
        }
        buildInfo.put("type." + type, new LinkedHashMap<String, Object>());
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("c_info", createInfo);
        config.put("b_info", buildInfo);
        if (!disks.isEmpty()) {
            List<Object> diskList = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) {
                Map<String, Object> disk = new LinkedHashMap<>();
                disk.put("pdev_path", Objects.requireNonNull(disks.get(i), "disk export").toString());
                disk.put("vdev", "xvd" + (char) ('a' + i));
                disk.put("backend", "phy");
                disk.put("format", "raw");
                disk.put("script", DISK_SCRIPT);
                disk.put("readwrite", 1L);
                diskList.add(disk);
            }
            config.put("disks", diskList);
        }
        if (!spec.networks().isEmpty()) {
            List<Object> nics = new ArrayList<>();
            for (int i = 0; i < spec.networks().size(); i++) {
                VmSpec.Network network = spec.networks().get(i);
                Map<String, Object> nic = new LinkedHashMap<>();
                nic.put("bridge", network.network());
                nic.put("mac", network.macAddress().map(mac -> mac.toLowerCase(Locale.ROOT))
                        .orElse(derivedMac(spec.name(), i)));
                nics.add(nic);
            }
            config.put("nics", nics);
        }
        // No on_poweroff/on_reboot/on_crash: libxl does not act on them (xl does), and the
        // adapter's supervisor does what xl would. libxl's rendering also leaves out fields at
        // their default, which would defeat the round-trip check for no gain.
        return config;
    }

    /**
     * A MAC address for a VM's NIC that names none: the same for the same VM and NIC on every
     * host, so that the guest keeps its address (and its peers' ARP caches stay right) when it
     * migrates or is rebuilt on the other host. In Xen's range, 00:16:3e, from a hash of the name.
     */
    static String derivedMac(String vm, int nic) {
        int hash = (vm + "/" + nic).hashCode();
        // Keep the top bit of the fourth byte clear, as xl does for the addresses it makes.
        return String.format(Locale.ROOT, "00:16:3e:%02x:%02x:%02x", (hash >>> 16) & 0x7f, (hash >>> 8) & 0xff,
                hash & 0xff);
    }

    /**
     * Checks that libxl kept everything it was sent: every key of {@code sent}, at every depth,
     * must be in libxl's rendering with the same value. libxl adds its defaults; those are
     * fine.
     *
     * @param vm     the VM, for the message
     * @param sent   what was passed to {@code libxl_domain_config_from_json}
     * @param parsed what {@code libxl_domain_config_to_json} returned
     * <p>Only values that differ from libxl's defaults may be sent: libxl's rendering omits
     * fields at their default, so such a value would look dropped. {@link #build} sends none.
     *
     * @throws HypervisorException naming the first key libxl dropped or changed
     */
    static void checkRoundTrip(String vm, Map<String, Object> sent, String parsed) {
        Object back;
        try {
            back = Json.parse(parsed);
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("VM '" + vm + "': libxl returned a configuration we cannot read: "
                    + e.getMessage());
        }
        String difference = difference("", sent, back);
        if (difference != null) {
            throw new HypervisorException("VM '" + vm + "': libxl did not take the configuration as sent: "
                    + difference);
        }
    }

    /** The first path at which {@code back} lacks or changes a value of {@code sent}, or null. */
    private static String difference(String path, Object sent, Object back) {
        if (sent instanceof Map<?, ?> sentMap) {
            if (!(back instanceof Map<?, ?> backMap)) {
                return path + " is not an object in libxl's rendering";
            }
            for (Map.Entry<?, ?> entry : sentMap.entrySet()) {
                String key = path.isEmpty() ? (String) entry.getKey() : path + "." + entry.getKey();
                if (!backMap.containsKey(entry.getKey())) {
                    return key + " is missing (libxl ignored it)";
                }
                String inner = difference(key, entry.getValue(), backMap.get(entry.getKey()));
                if (inner != null) {
                    return inner;
                }
            }
            return null;
        }
        if (sent instanceof List<?> sentList) {
            if (!(back instanceof List<?> backList) || backList.size() != sentList.size()) {
                return path + " has " + (back instanceof List<?> l ? l.size() : "no") + " entries, sent "
                        + sentList.size();
            }
            for (int i = 0; i < sentList.size(); i++) {
                String inner = difference(path + "[" + i + "]", sentList.get(i), backList.get(i));
                if (inner != null) {
                    return inner;
                }
            }
            return null;
        }
        if (!Objects.equals(sent, back)) {
            return path + " is " + Json.write(back) + ", sent " + Json.write(sent);
        }
        return null;
    }
}
