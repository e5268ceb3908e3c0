package io.avance.core.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.NodeConfig;
import io.avance.core.config.NodeConfigFile;
import io.avance.core.monitor.MonitorUsers;
import io.avance.core.monitor.Role;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.operations.OpsTesting;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The diagnostic bundle of a node whose configuration holds secrets: it opens, has every part,
 * and holds none of the secrets.
 */
class DiagnosticBundleTest {

    @TempDir
    Path directory;

    @Test
    void theBundleOpensHasEveryPartAndContainsNoSecret() throws Exception {
        byte[] secret = new byte[32];
        for (int i = 0; i < secret.length; i++) {
            secret[i] = (byte) (i * 7 + 3);
        }
        String hex = HexFormat.of().formatHex(secret);
        Path logs = Files.createDirectories(directory.resolve("logs"));
        Files.writeString(logs.resolve("product.log"), "the product started\nsmtp password is smtp-Pa55word-xyz\n");
        Path file = directory.resolve("node.properties");
        Files.writeString(file, String.join("\n",
                "node.id = alpha",
                "node.data-dir = data",
                "pairing.secret = hex:" + hex,
                // The node listens on ports of the kernel's choosing; its peer (at the discard
                // port, where nothing answers) never comes.
                "private.listen = 127.0.0.1:0",
                "peer.id = beta",
                "peer.private-address = 127.0.0.1:9",
                "public.lan.bind = 127.0.0.1:0",
                "public.lan.peer = 127.0.0.1:9",
                "monitor.listen = 127.0.0.1:0",
                "monitor.keystore-password = keystore-Secr3t-abc",
                "alert.smtp.host = 127.0.0.1",
                "alert.smtp.user = avance",
                "alert.smtp.password = smtp-Pa55word-xyz",
                "alert.from = avance@example.com",
                "alert.to = ops@example.com",
                "bundle.logs = logs",
                ""));
        NodeConfig config = NodeConfigFile.read(file);
        // No keystore file is configured, so the monitor makes its own; the password is still a secret.
        MonitorUsers.put(config.dataDirectory().resolve("monitor-users"), "olga", Role.OPERATOR,
                "user-passw0rd-123".toCharArray());
        try (AvanceNode node = AvanceNode.builder(config).meterRegistry(Operations.prometheusRegistry()).build()) {
            node.start();
            try (Operations operations = Operations.builder(node).configFile(file).start()) {
                node.faults().raise(Fault.of(Component.FAN, "fan2", Severity.MAJOR, "stopped"));
                node.journal().record("olga", "maintenance", "on", "done");
                OpsTesting.await(() -> operations.events().items().stream().anyMatch(i -> i.described().text()
                        .contains("fan2")), java.time.Duration.ofSeconds(10), () -> "no fault event");
                Path written = operations.writeBundle(Files.createDirectories(directory.resolve("usb-stick")), "olga");
                assertTrue(written.getFileName().toString().startsWith("avance-alpha-"), written.toString());
                Map<String, String> entries = new LinkedHashMap<>();
                try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(written))) {
                    for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                        zip.transferTo(bytes);
                        entries.put(entry.getName(), bytes.toString(StandardCharsets.UTF_8));
                    }
                }
                for (String part : List.of("MANIFEST.txt", "config.txt", "config-file.properties", "health.json",
                        "events.txt", "journal/audit.log", "logs/process.log", "logs/logs/product.log", "metrics.txt",
                        "threads.txt", "system.txt")) {
                    assertTrue(entries.containsKey(part), part + " in " + entries.keySet());
                }
                assertTrue(entries.get("health.json").contains("\"location\":\"fan2\""), "faults are in the health snapshot");
                assertTrue(entries.get("events.txt").contains("fan2"), "and in the fault history");
                assertTrue(entries.get("journal/audit.log").contains("\"actor\":\"olga\""));
                assertTrue(entries.get("threads.txt").contains("avance-"), "thread dump");
                assertTrue(entries.get("metrics.txt").contains("avance_"), "metrics snapshot");
                assertTrue(entries.get("config-file.properties").contains("alert.smtp.password = <redacted>"));
                assertTrue(entries.get("config-file.properties").contains("alert.smtp.host = 127.0.0.1"),
                        "the rest of the configuration stays");
                assertTrue(entries.get("logs/logs/product.log").contains("smtp password is <redacted>"));
                String everything = String.join("\n", entries.values());
                for (String secretText : List.of(hex, hex.toUpperCase(java.util.Locale.ROOT),
                        Base64.getEncoder().encodeToString(secret), "smtp-Pa55word-xyz", "keystore-Secr3t-abc",
                        "pbkdf2-sha512", "user-passw0rd-123")) {
                    assertFalse(everything.contains(secretText), "the bundle leaks " + secretText);
                }
                assertTrue(node.journal().read(e -> e.action().equals("bundle") && e.actor().equals("olga"), 1).size() == 1);
            }
        }
        assertEquals(1, Files.list(directory.resolve("usb-stick")).count(), "one file, no partial left over");
    }
}
