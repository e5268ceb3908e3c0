package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmDefinitionsTest {

    @TempDir
    Path directory;

    @Test
    void survivesARestart() {
        VmSpec spec = new VmSpec("db", 4, 2L << 30, List.of(new VmSpec.Disk("db-root", 8192, 2)),
                List.of(new VmSpec.Network("lan", Optional.of("52:54:00:12:34:56")), new VmSpec.Network("dmz",
                        Optional.empty())),
                Map.of("xen.kernel", "/boot/vmlinuz", "xen.cmdline", "console=hvc0 root=/dev/xvda1 = #!"));
        UUID uuid = UUID.randomUUID();
        new VmDefinitions(directory).put(new VmDefinitions.Definition(spec, uuid));
        VmDefinitions reloaded = new VmDefinitions(directory);
        assertEquals(Optional.of(new VmDefinitions.Definition(spec, uuid)), reloaded.get("db"));
        reloaded.remove("db");
        assertTrue(new VmDefinitions(directory).all().isEmpty());
    }

    @Test
    void refusesACorruptFile() throws IOException {
        Files.writeString(directory.resolve("x.properties"), "name=x\ncores=two\n");
        HypervisorException e = assertThrows(HypervisorException.class, () -> new VmDefinitions(directory));
        assertTrue(e.getMessage().contains("x.properties"), e.getMessage());
    }
}
