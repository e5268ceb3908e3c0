package io.avance.xen;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The VMs this adapter has defined, kept in its state directory so that they survive a restart
 * of the engine.
 *
 * <p>Why the adapter keeps them: Xen has no defined-but-stopped domains (a domain exists only
 * from creation to destruction), so "defined" is the adapter's record, not the hypervisor's.
 * Each VM is one {@code vms/NAME.properties} file, written to a temporary file and moved into
 * place, so a crash leaves either the old or the new definition. The UUID is made once, at
 * definition, and kept for the VM's life, across restarts and migrations.
 *
 * <p>Thread-safe: the map is concurrent, and writes for one VM are serialised by the adapter's
 * per-VM lock.
 */
final class VmDefinitions {

    /**
     * One definition.
     *
     * @param spec the VM
     * @param uuid its Xen UUID
     */
    record Definition(VmSpec spec, UUID uuid) {
    }

    private final Path directory;
    private final Map<String, Definition> definitions = new ConcurrentHashMap<>();

    /**
     * Loads the definitions in a directory, creating it if needed.
     *
     * @param directory where the files live
     * @throws HypervisorException if the directory cannot be read or a file is corrupt
     */
    VmDefinitions(Path directory) {
        this.directory = directory;
        try {
            Files.createDirectories(directory);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.properties")) {
                for (Path file : files) {
                    Definition definition = read(file);
                    definitions.put(definition.spec().name(), definition);
                }
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot read the VM definitions in " + directory + ": " + e.getMessage(), e);
        }
    }

    Optional<Definition> get(String vm) {
        return Optional.ofNullable(definitions.get(vm));
    }

    List<Definition> all() {
        return new ArrayList<>(new TreeMap<>(definitions).values());
    }

    /**
     * Stores a definition.
     *
     * @param definition the VM
     * @throws HypervisorException if it cannot be written
     */
    void put(Definition definition) {
        Path file = file(definition.spec().name());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Properties properties = toProperties(definition);
        try {
            try (Writer out = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                properties.store(out, "Avance Xen adapter: VM definition");
            }
            try {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot store the definition of VM '" + definition.spec().name() + "' in "
                    + file + ": " + e.getMessage(), e);
        }
        definitions.put(definition.spec().name(), definition);
    }

    /**
     * Forgets a definition.
     *
     * @param vm the VM
     */
    void remove(String vm) {
        try {
            Files.deleteIfExists(file(vm));
        } catch (IOException e) {
            throw new HypervisorException("cannot delete the definition of VM '" + vm + "': " + e.getMessage(), e);
        }
        definitions.remove(vm);
    }

    private Path file(String vm) {
        // VmSpec names are [A-Za-z0-9._-], never "/" nor empty, so they are safe file names.
        return directory.resolve(vm + ".properties");
    }

    static Properties toProperties(Definition definition) {
        VmSpec spec = definition.spec();
        Properties properties = new Properties();
        properties.setProperty("name", spec.name());
        properties.setProperty("uuid", definition.uuid().toString());
        properties.setProperty("cores", Integer.toString(spec.cores()));
        properties.setProperty("memoryBytes", Long.toString(spec.memoryBytes()));
        for (int i = 0; i < spec.disks().size(); i++) {
            VmSpec.Disk disk = spec.disks().get(i);
            properties.setProperty("disk." + i + ".volume", disk.volume());
            properties.setProperty("disk." + i + ".sizeBytes", Long.toString(disk.sizeBytes()));
            properties.setProperty("disk." + i + ".spindles", Integer.toString(disk.spindles()));
        }
        for (int i = 0; i < spec.networks().size(); i++) {
            VmSpec.Network network = spec.networks().get(i);
            properties.setProperty("network." + i + ".name", network.network());
            String macKey = "network." + i + ".mac";
            network.macAddress().ifPresent(mac -> properties.setProperty(macKey, mac));
        }
        spec.options().forEach((key, value) -> properties.setProperty("option." + key, value));
        return properties;
    }

    static Definition fromProperties(Properties properties) {
        String name = required(properties, "name");
        List<VmSpec.Disk> disks = new ArrayList<>();
        for (int i = 0; properties.containsKey("disk." + i + ".volume"); i++) {
            disks.add(new VmSpec.Disk(required(properties, "disk." + i + ".volume"),
                    Long.parseLong(required(properties, "disk." + i + ".sizeBytes")),
                    Integer.parseInt(required(properties, "disk." + i + ".spindles"))));
        }
        List<VmSpec.Network> networks = new ArrayList<>();
        for (int i = 0; properties.containsKey("network." + i + ".name"); i++) {
            networks.add(new VmSpec.Network(required(properties, "network." + i + ".name"),
                    Optional.ofNullable(properties.getProperty("network." + i + ".mac"))));
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith("option.")) {
                options.put(key.substring("option.".length()), properties.getProperty(key));
            }
        }
        VmSpec spec = new VmSpec(name, Integer.parseInt(required(properties, "cores")),
                Long.parseLong(required(properties, "memoryBytes")), disks, networks, options);
        return new Definition(spec, UUID.fromString(required(properties, "uuid")));
    }

    private static String required(Properties properties, String key) {
        String value = properties.getProperty(key);
        if (value == null) {
            throw new IllegalArgumentException("missing key '" + key + "'");
        }
        return value;
    }

    private static Definition read(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        try {
            Definition definition = fromProperties(properties);
            if (!file.getFileName().toString().equals(definition.spec().name() + ".properties")) {
                throw new IllegalArgumentException("names VM '" + definition.spec().name() + "'");
            }
            return definition;
        } catch (IllegalArgumentException e) {
            throw new IOException("corrupt VM definition " + file + ": " + e.getMessage(), e);
        }
    }
}
