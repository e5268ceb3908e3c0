package io.avance.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.testkit.tools.ExternalTool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the distribution holds, checked on the files the build made (after {@code package}): the
 * command-line jar carries the Xen binding and JNA and no test framework, and the Debian package
 * installs what an integrator expects where Debian expects it. The install itself ({@code dpkg -i}
 * and the service) is run in dom0 by the Xen pair stage.
 */
class DistributionIT {

    private static final Path TARGET = Path.of("target");
    private static final List<String> TEST_FRAMEWORKS = List.of("org/junit/", "net/jqwik/", "org/opentest4j/",
            "org/apiguardian/", "org/openqa/", "org/seleniumhq/");

    @TempDir
    Path directory;

    private static Path deb() throws IOException {
        try (Stream<Path> files = Files.list(TARGET)) {
            List<Path> debs = files.filter(f -> f.getFileName().toString().matches("avance_.+_all\\.deb")).toList();
            assertEquals(1, debs.size(), "one avance_VERSION_all.deb in target: " + debs);
            return debs.get(0);
        }
    }

    @Test
    void theCommandLineJarCarriesTheXenBindingAndJnaAndNoTestFramework() throws Exception {
        List<String> frameworkEntries = new ArrayList<>();
        try (ZipFile jar = new ZipFile(TARGET.resolve("avance.jar").toFile())) {
            jar.stream().map(ZipEntry::getName).filter(name -> TEST_FRAMEWORKS.stream().anyMatch(name::startsWith))
                    .limit(5).forEach(frameworkEntries::add);
            assertEquals(List.of(), frameworkEntries, "test frameworks in avance.jar");
            assertTrue(jar.getEntry("io/avance/xen/XenHypervisorAdapter.class") != null, "the Xen binding");
            assertTrue(jar.getEntry("com/sun/jna/Native.class") != null, "JNA");
            assertTrue(jar.getEntry("io/avance/core/daemon/NodeMain.class") != null, "the node's main class");
            assertTrue(jar.getEntry("io/avance/testkit/hypervisor/HypervisorAdapterContract.class") == null,
                    "contract suites are for tests");
            ZipEntry services = jar.getEntry("META-INF/services/io.avance.api.hypervisor.HypervisorAdapter");
            String adapters = new String(jar.getInputStream(services).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(adapters.contains("io.avance.xen.XenHypervisorAdapter")
                    && adapters.contains("io.avance.testkit.hypervisor.SimulatedHypervisor"), adapters);
        }
    }

    @Test
    void aXenNodeFromTheJarFindsTheBindingAndSaysWhatTheHostLacks() throws Exception {
        Path config = directory.resolve("avance.properties");
        Files.writeString(config, String.join("\n", "node.id = alpha", "node.data-dir = data", "hypervisor = xen", ""));
        ExternalTool.Result run = ExternalTool.in(directory).runHere(120, javaCommand(), "-jar",
                TARGET.toAbsolutePath().resolve("avance.jar").toString(), "node", "--config", config.toString());
        assertTrue(run.exit() != 0, run.output());
        assertFalse(run.output().contains("no hypervisor adapter of that name"), run.output());
        // This machine runs no Xen: the binding's probe names what is missing, in one line.
        assertTrue(run.output().contains("Xen"), run.output());
        assertFalse(run.output().contains("\tat "), "a stack trace:\n" + run.output());
    }

    @Test
    void theDebianPackageInstallsTheLauncherTheServiceTheConfigurationAndTheHotplugScript() throws Exception {
        Path deb = deb();
        String info = ExternalTool.ok(60, "dpkg-deb", "--field", deb.toString(), "Package", "Architecture", "Depends");
        assertTrue(info.contains("Package: avance") && info.contains("Architecture: all")
                && info.contains("openjdk-17-jre-headless"), info);
        String contents = ExternalTool.ok(60, "dpkg-deb", "--contents", deb.toString());
        for (String path : List.of("./usr/bin/avance", "./usr/share/avance/avance.jar",
                "./lib/systemd/system/avance-node.service", "./etc/avance/avance.properties", "./etc/default/avance",
                "./etc/xen/scripts/block-avance-nbd", "./usr/share/doc/avance/copyright", "./var/lib/avance/")) {
            assertTrue(contents.contains(path), path + " in the package:\n" + contents);
        }
        assertTrue(contents.matches("(?s).*-rwxr-xr-x[^\n]*\\./usr/bin/avance\n.*"), "the launcher is executable");
        assertTrue(contents.matches("(?s).*-rw-------[^\n]*\\./etc/avance/avance\\.properties\n.*"),
                "the configuration is readable by root alone (it may name a secret)");
        String conffiles = ExternalTool.ok(60, "dpkg-deb", "--info", deb.toString(), "conffiles");
        assertTrue(conffiles.contains("/etc/avance/avance.properties") && conffiles.contains("/etc/default/avance"),
                conffiles);

        Path root = directory.resolve("root");
        ExternalTool.ok(60, "dpkg-deb", "--extract", deb.toString(), root.toString());
        String unit = Files.readString(root.resolve("lib/systemd/system/avance-node.service"));
        assertTrue(unit.contains("KillMode=process") && unit.contains("Restart=on-failure")
                && unit.contains("ExecStart=/usr/bin/avance node --config /etc/avance/avance.properties"), unit);
        // The packaged default configuration is one the node accepts as it is.
        io.avance.core.config.NodeConfigFile.read(root.resolve("etc/avance/avance.properties"));
        // The packaged jar runs.
        String version = ExternalTool.ok(60, javaCommand(), "-jar", root.resolve("usr/share/avance/avance.jar")
                .toString(), "--version");
        assertTrue(version.contains("avance"), version);
    }

    private static String javaCommand() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
