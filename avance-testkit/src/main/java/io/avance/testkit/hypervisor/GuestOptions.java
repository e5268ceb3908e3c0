package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The simulated guest's settings, read and checked from {@link VmSpec#options()}.
 *
 * <table>
 *   <caption>Options of the simulated hypervisor</caption>
 *   <tr><th>key</th><th>values</th><th>default</th></tr>
 *   <tr><td>{@code sim.program}</td><td>{@code kv} or {@code idle}</td><td>{@code kv}</td></tr>
 *   <tr><td>{@code sim.port}</td><td>0-65535; 0 for no listener ({@code kv} only)</td><td>0</td></tr>
 *   <tr><td>{@code sim.bind}</td><td>the address to listen on</td><td>{@code 127.0.0.1}</td></tr>
 *   <tr><td>{@code sim.dirty-rate}</td><td>bytes per second of guest memory dirtied</td><td>0</td></tr>
 *   <tr><td>{@code sim.disk-rate}</td><td>bytes per second written to the disk's scratch area</td><td>0</td></tr>
 *   <tr><td>{@code sim.fill}</td><td>{@code none}, or {@code random}: at boot, every scratch page gets
 *       random contents, as a busy guest's memory would have (so a migration must copy all of
 *       it, rather than skip zero pages)</td><td>{@code none}</td></tr>
 * </table>
 * Sizes and rates are a number of bytes with an optional binary unit: {@code 1048576},
 * {@code 512KiB}, {@code 50MiB}, {@code 4GiB} (a trailing {@code /s} is allowed for rates).
 *
 * @param program                  the guest program
 * @param port                     the TCP port of the kv service, 0 for none
 * @param bind                     the address it listens on
 * @param dirtyRateBytesPerSecond  how fast the background dirtier writes guest memory
 * @param diskRateBytesPerSecond   how fast the background writer writes the disk's scratch area
 * @param fillRandom               whether the scratch memory is filled with random bytes at boot
 */
record GuestOptions(Program program, int port, InetAddress bind, long dirtyRateBytesPerSecond,
                    long diskRateBytesPerSecond, boolean fillRandom) {

    static final String PROGRAM = "sim.program";
    static final String PORT = "sim.port";
    static final String BIND = "sim.bind";
    static final String DIRTY_RATE = "sim.dirty-rate";
    static final String DISK_RATE = "sim.disk-rate";
    static final String FILL = "sim.fill";
    static final Set<String> KEYS = Set.of(PROGRAM, PORT, BIND, DIRTY_RATE, DISK_RATE, FILL);

    /** The smallest disk the kv program accepts: room for a log and a scratch area. */
    static final long MIN_KV_DISK_BYTES = 64 * 1024;

    private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s*([kmgt]i?b?|b)?(/s)?");

    /** The guest programs. */
    enum Program {
        /** A key-value service with its state in guest memory and a log on its first disk. */
        KV,
        /** Does nothing but what the dirty and disk rates ask. */
        IDLE
    }

    /**
     * Reads and checks a spec's options.
     *
     * @param spec the VM
     * @return the settings
     * @throws HypervisorException naming the VM, the key and what is wrong
     */
    static GuestOptions of(VmSpec spec) {
        Map<String, String> options = spec.options();
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw refused(spec, "unknown option" + (unknown.size() > 1 ? "s " : " ") + unknown
                    + "; the simulated hypervisor knows " + new TreeSet<>(KEYS));
        }
        Program program;
        String programText = options.getOrDefault(PROGRAM, "kv");
        switch (programText) {
            case "kv":
                program = Program.KV;
                break;
            case "idle":
                program = Program.IDLE;
                break;
            default:
                throw refused(spec, PROGRAM + "=" + programText + " is not a guest program: use kv or idle");
        }
        int port = 0;
        String portText = options.get(PORT);
        if (portText != null) {
            try {
                port = Integer.parseInt(portText.trim());
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 0 || port > 65535) {
                throw refused(spec, PORT + "=" + portText + " is not a TCP port (0-65535, 0 for no listener)");
            }
        }
        String bindText = options.getOrDefault(BIND, "127.0.0.1");
        InetAddress bind;
        try {
            bind = InetAddress.getByName(bindText.trim());
        } catch (UnknownHostException e) {
            throw refused(spec, BIND + "=" + bindText + " is not an address of this host");
        }
        long dirtyRate = rate(spec, DIRTY_RATE, options.get(DIRTY_RATE));
        long diskRate = rate(spec, DISK_RATE, options.get(DISK_RATE));

        if (program == Program.KV && spec.disks().isEmpty()) {
            throw refused(spec, "sim.program=kv keeps its log on the VM's first disk, and this VM has none "
                    + "(use sim.program=idle for a guest without disks)");
        }
        if (program == Program.KV && spec.disks().get(0).sizeBytes() < MIN_KV_DISK_BYTES) {
            throw refused(spec, "sim.program=kv needs a first disk of at least " + MIN_KV_DISK_BYTES
                    + " bytes, disk " + spec.disks().get(0).volume() + " has " + spec.disks().get(0).sizeBytes());
        }
        if (program != Program.KV && port != 0) {
            throw refused(spec, PORT + " is the kv service's port; sim.program=" + programText + " has no service");
        }
        if (diskRate > 0 && spec.disks().isEmpty()) {
            throw refused(spec, DISK_RATE + "=" + options.get(DISK_RATE) + " writes to the VM's first disk, "
                    + "and this VM has none");
        }
        if (dirtyRate > 0 && GuestLayout.of(program, spec.memoryBytes()).scratchPages() == 0) {
            throw refused(spec, DIRTY_RATE + " needs scratch memory, and " + spec.memoryMib()
                    + " MiB leave none after the kv table");
        }
        String fill = options.getOrDefault(FILL, "none");
        if (!fill.equals("none") && !fill.equals("random")) {
            throw refused(spec, FILL + "=" + fill + " must be none or random");
        }
        return new GuestOptions(program, port, bind, dirtyRate, diskRate, fill.equals("random"));
    }

    private static long rate(VmSpec spec, String key, String text) {
        if (text == null) {
            return 0;
        }
        try {
            return parseBytes(text);
        } catch (IllegalArgumentException e) {
            throw refused(spec, key + "=" + text + ": " + e.getMessage());
        }
    }

    /**
     * Parses a byte count with an optional binary unit ({@code 4096}, {@code 64KiB},
     * {@code 50MiB/s}, {@code 4GiB}; units are case-insensitive and {@code K}, {@code M},
     * {@code G}, {@code T} alone mean KiB, MiB, GiB, TiB).
     *
     * @param text the text
     * @return the number of bytes
     * @throws IllegalArgumentException if the text is not such a size, or it overflows
     */
    static long parseBytes(String text) {
        Matcher matcher = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size: write bytes, or a number with "
                    + "KiB, MiB, GiB or TiB, such as 50MiB");
        }
        long value;
        try {
            value = Long.parseLong(matcher.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        String unit = matcher.group(2) == null ? "b" : matcher.group(2);
        int shift;
        switch (unit.charAt(0)) {
            case 'k':
                shift = 10;
                break;
            case 'm':
                shift = 20;
                break;
            case 'g':
                shift = 30;
                break;
            case 't':
                shift = 40;
                break;
            default:
                shift = 0;
        }
        if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return value << shift;
    }

    private static HypervisorException refused(VmSpec spec, String why) {
        return new HypervisorException("simulated hypervisor refuses VM " + spec.name() + ": " + why);
    }
}
