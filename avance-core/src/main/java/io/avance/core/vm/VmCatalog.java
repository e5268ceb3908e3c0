package io.avance.core.vm;

import io.avance.api.hypervisor.VmSpec;
import io.avance.core.store.DurableProperties;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The pair's VM definitions and, for each, whether it should run: the same on both nodes.
 *
 * <p>The primary is the authority: it changes the catalog, persists it, and sends the whole of it
 * to the backup, which persists and adopts it ({@link #adopt}) whatever it held before. The version
 * only grows; a node that becomes primary goes on from the version it holds. That way, after a
 * takeover, the new primary knows every VM the old one was running (rule 7).
 *
 * <p>On disk: {@code vms.properties} in the data directory, written atomically with a checksum
 * ({@link DurableProperties}): {@code version}, then {@code vm.NAME.wanted} and
 * {@code vm.NAME.spec.KEY} as {@link VmSpecCodec} lays a spec out.
 *
 * <p>Thread-safe.
 */
public final class VmCatalog {

    /**
     * One VM of the catalog.
     *
     * @param spec   what it is
     * @param wanted whether it should run
     */
    public record Entry(VmSpec spec, boolean wanted) {
    }

    private final Path file;
    private final Map<String, Entry> entries = new TreeMap<>();
    private long version;

    /**
     * Loads the catalog from a data directory (empty if there is none yet).
     *
     * @param dataDirectory the node's data directory
     * @throws DurableProperties.CorruptFileException if the file is damaged
     * @throws IllegalArgumentException              if a definition in it is invalid
     */
    public VmCatalog(Path dataDirectory) {
        this.file = dataDirectory.resolve("vms.properties");
        Optional<Map<String, String>> stored = DurableProperties.read(file);
        if (stored.isPresent()) {
            Map<String, String> keys = stored.get();
            version = Long.parseLong(keys.getOrDefault("version", "0"));
            Map<String, Map<String, String>> specs = new TreeMap<>();
            Map<String, Boolean> wanted = new TreeMap<>();
            for (Map.Entry<String, String> entry : keys.entrySet()) {
                String key = entry.getKey();
                if (!key.startsWith("vm.")) {
                    continue;
                }
                int dot = key.indexOf('.', 3);
                String name = key.substring(3, dot);
                String rest = key.substring(dot + 1);
                if (rest.equals("wanted")) {
                    wanted.put(name, Boolean.parseBoolean(entry.getValue()));
                } else if (rest.startsWith("spec.")) {
                    specs.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(rest.substring(5), entry.getValue());
                }
            }
            for (Map.Entry<String, Map<String, String>> spec : specs.entrySet()) {
                entries.put(spec.getKey(), new Entry(VmSpecCodec.fromMap(spec.getValue()),
                        wanted.getOrDefault(spec.getKey(), false)));
            }
        }
    }

    /** @return the catalog's version; it grows with every change */
    public synchronized long version() {
        return version;
    }

    /** @return every VM, by name */
    public synchronized List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /**
     * One VM.
     *
     * @param name the VM
     * @return its entry, if defined
     */
    public synchronized Optional<Entry> get(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    /**
     * Adds or replaces a VM, and persists.
     *
     * @param entry the VM
     * @return the new version
     */
    public synchronized long put(Entry entry) {
        entries.put(entry.spec().name(), entry);
        version++;
        persist();
        return version;
    }

    /**
     * Removes a VM, and persists.
     *
     * @param name the VM
     * @return the new version
     */
    public synchronized long remove(String name) {
        if (entries.remove(name) != null) {
            version++;
            persist();
        }
        return version;
    }

    /**
     * Replaces everything with the primary's catalog, and persists.
     *
     * @param primaryVersion the primary's version
     * @param primaryEntries the primary's VMs
     * @return true if anything changed
     */
    public synchronized boolean adopt(long primaryVersion, List<Entry> primaryEntries) {
        Map<String, Entry> next = new TreeMap<>();
        for (Entry entry : primaryEntries) {
            next.put(entry.spec().name(), entry);
        }
        if (next.equals(entries) && primaryVersion == version) {
            return false;
        }
        entries.clear();
        entries.putAll(next);
        // Never go back: a later primary must supersede whatever this node held.
        version = Math.max(version, primaryVersion);
        persist();
        return true;
    }

    private void persist() {
        Map<String, String> keys = new TreeMap<>();
        keys.put("version", String.valueOf(version));
        for (Entry entry : entries.values()) {
            String prefix = "vm." + entry.spec().name() + ".";
            keys.put(prefix + "wanted", String.valueOf(entry.wanted()));
            VmSpecCodec.toMap(entry.spec()).forEach((key, value) -> keys.put(prefix + "spec." + key, value));
        }
        DurableProperties.write(file, keys);
    }

    /** @return the names of the VMs that should run */
    public synchronized List<String> wanted() {
        List<String> names = new ArrayList<>();
        for (Entry entry : entries.values()) {
            if (entry.wanted()) {
                names.add(entry.spec().name());
            }
        }
        return Collections.unmodifiableList(names);
    }
}
