package io.avance.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor.*, alert.*, callhome.*, bundle.* and vip.* keys: parsed, validated, redacted. */
class OperationsConfigFileTest {

    @TempDir
    Path directory;

    private NodeConfig parse(String... lines) {
        return NodeConfigFile.parse(new StringReader("node.id = alpha\nnode.data-dir = data\n" + String.join("\n", lines)),
                directory);
    }

    @Test
    void everyServiceIsReadWithItsDefaults() throws Exception {
        Files.writeString(directory.resolve("smtp.pass"), "s3cret-smtp\n");
        NodeConfig config = parse("monitor.listen = 0.0.0.0:8443", "monitor.session-timeout = 10m",
                "alert.smtp.host = mail.example.com", "alert.smtp.security = starttls", "alert.smtp.user = avance",
                "alert.smtp.password-file = smtp.pass", "alert.from = avance@example.com",
                "alert.to = a@example.com, b@example.com", "callhome.url = https://vendor.example.com/events",
                "bundle.logs = /var/log/product", "vip.lan.interface = eth1", "vip.lan.address = 192.0.2.10/24");
        OperationsConfig operations = config.operations();
        OperationsConfig.Monitor monitor = operations.monitor().orElseThrow();
        assertEquals(8443, monitor.listen().getPort());
        assertEquals(TimeUnit.MINUTES.toNanos(10), monitor.sessionTimeoutNanos());
        assertEquals(5, monitor.loginAttempts());
        OperationsConfig.Alerts alerts = operations.alerts().orElseThrow();
        assertEquals(587, alerts.smtpPort(), "STARTTLS defaults to the submission port");
        assertEquals("s3cret-smtp", alerts.password().orElseThrow());
        assertEquals(List.of("a@example.com", "b@example.com"), alerts.to());
        assertEquals("alpha", operations.callHome().orElseThrow().site(), "the site defaults to the node id");
        assertEquals("192.0.2.10", operations.addresses().get(0).ip());
        assertEquals(Path.of("/var/log/product"), operations.bundle().logFiles().get(0));
        assertTrue(!config.toString().contains("s3cret-smtp"), config.toString());
        assertTrue(parse().operations().monitor().isEmpty(), "every service is off by default");
    }

    @Test
    void badValuesAreErrorsThatNameTheKeyAndTheValue() {
        assertError("monitor.lockout", "monitor.listen = 127.0.0.1:8443", "monitor.lockout = soon");
        assertError("monitor.session-timeout", "monitor.listen = 127.0.0.1:8443", "monitor.session-timeout = 5s");
        assertError("monitor.keystore", "monitor.keystore = x.p12");
        assertError("alert.to", "alert.smtp.host = mail", "alert.from = a@example.com");
        assertError("alert.smtp.security", "alert.smtp.host = mail", "alert.smtp.security = ssl",
                "alert.from = a@example.com", "alert.to = b@example.com");
        assertError("callhome.url", "callhome.url = http://vendor.example.com/");
        assertError("vip.lan.address", "vip.lan.interface = eth1", "vip.lan.address = 192.0.2.300/24");
        assertError("vip.lan.netmask", "vip.lan.netmask = 24");
        assertError("monitor.colour", "monitor.listen = 127.0.0.1:1", "monitor.colour = blue");
        ConfigException redacted = assertThrows(ConfigException.class, () -> parse("alert.smtp.password = hunter22"));
        assertTrue(!redacted.getMessage().contains("hunter22"), redacted.getMessage());
    }

    private void assertError(String key, String... lines) {
        ConfigException error = assertThrows(ConfigException.class, () -> parse(lines));
        assertEquals(key, error.key(), error.getMessage());
    }
}
