package io.avance.core.vm;

import io.avance.api.hypervisor.VmSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A {@link VmSpec} as {@code key=value} text: the form VM definitions take in the catalog file and
 * on the private link. Keys, sorted:
 *
 * <pre>
 * name=vm1
 * cores=1
 * memory=268435456
 * disk.0.volume=vm1-disk      disk.0.size=67108864   disk.0.spindles=1
 * network.0.name=lan          network.0.mac=52:54:00:12:34:56   (mac optional)
 * option.sim.port=9000
 * </pre>
 *
 * Values may not contain line breaks. Pure and thread-safe.
 */
public final class VmSpecCodec {

    /** The longest encoded spec accepted. */
    public static final int MAX_BYTES = 16 * 1024;

    private VmSpecCodec() {
    }

    /**
     * Encodes a spec.
     *
     * @param spec the spec
     * @return its text
     * @throws IllegalArgumentException if an option holds a line break, or the text is too long
     */
    public static String encode(VmSpec spec) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> entry : toMap(spec).entrySet()) {
            if (entry.getValue().indexOf('\n') >= 0 || entry.getValue().indexOf('\r') >= 0) {
                throw new IllegalArgumentException("VM '" + spec.name() + "': " + entry.getKey()
                        + " holds a line break");
            }
            text.append(entry.getKey()).append('=').append(entry.getValue()).append('\n');
        }
        if (text.length() > MAX_BYTES) {
            throw new IllegalArgumentException("VM '" + spec.name() + "': its definition is longer than "
                    + MAX_BYTES + " bytes");
        }
        return text.toString();
    }

    /**
     * Decodes a spec.
     *
     * @param text what {@link #encode} wrote
     * @return the spec
     * @throws IllegalArgumentException naming the bad key if the text is not a valid spec
     */
    public static VmSpec decode(String text) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int equals = line.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("VM definition line '" + line + "' is not key=value");
            }
            map.put(line.substring(0, equals), line.substring(equals + 1));
        }
        return fromMap(map);
    }

    /**
     * A spec as sorted keys and values.
     *
     * @param spec the spec
     * @return its keys
     */
    public static Map<String, String> toMap(VmSpec spec) {
        Map<String, String> map = new TreeMap<>();
        map.put("name", spec.name());
        map.put("cores", String.valueOf(spec.cores()));
        map.put("memory", String.valueOf(spec.memoryBytes()));
        for (int i = 0; i < spec.disks().size(); i++) {
            VmSpec.Disk disk = spec.disks().get(i);
            map.put("disk." + i + ".volume", disk.volume());
            map.put("disk." + i + ".size", String.valueOf(disk.sizeBytes()));
            map.put("disk." + i + ".spindles", String.valueOf(disk.spindles()));
        }
        for (int i = 0; i < spec.networks().size(); i++) {
            VmSpec.Network network = spec.networks().get(i);
            String prefix = "network." + i + ".";
            map.put(prefix + "name", network.network());
            network.macAddress().ifPresent(mac -> map.put(prefix + "mac", mac));
        }
        spec.options().forEach((key, value) -> map.put("option." + key, value));
        return map;
    }

    /**
     * A spec from its keys.
     *
     * @param map keys and values, as {@link #toMap} made them
     * @return the spec
     * @throws IllegalArgumentException naming the bad key
     */
    public static VmSpec fromMap(Map<String, String> map) {
        String name = required(map, "name");
        int cores = (int) number(map, "cores");
        long memory = number(map, "memory");
        List<VmSpec.Disk> disks = new ArrayList<>();
        for (int i = 0; map.containsKey("disk." + i + ".volume"); i++) {
            disks.add(new VmSpec.Disk(map.get("disk." + i + ".volume"), number(map, "disk." + i + ".size"),
                    (int) number(map, "disk." + i + ".spindles")));
        }
        List<VmSpec.Network> networks = new ArrayList<>();
        for (int i = 0; map.containsKey("network." + i + ".name"); i++) {
            networks.add(new VmSpec.Network(map.get("network." + i + ".name"),
                    Optional.ofNullable(map.get("network." + i + ".mac"))));
        }
        Map<String, String> options = new TreeMap<>();
        for (Map.Entry<String, String> entry : map.entrySet()) {
            String key = entry.getKey();
            if (key.startsWith("option.")) {
                options.put(key.substring("option.".length()), entry.getValue());
            } else if (!key.equals("name") && !key.equals("cores") && !key.equals("memory")
                    && !key.matches("disk\\.\\d+\\.(volume|size|spindles)") && !key.matches("network\\.\\d+\\.(name|mac)")) {
                throw new IllegalArgumentException("VM '" + name + "': unknown key '" + key + "'");
            }
        }
        return new VmSpec(name, cores, memory, disks, networks, options);
    }

    private static String required(Map<String, String> map, String key) {
        String value = map.get(key);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("VM definition lacks '" + key + "'");
        }
        return value;
    }

    private static long number(Map<String, String> map, String key) {
        String value = required(map, key);
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("VM definition: '" + key + "' is not a number: '" + value + "'");
        }
    }
}
