package io.avance.core.callhome;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.OperationsConfig;
import io.avance.core.json.FlatJson;
import io.avance.core.monitor.TlsMaterial;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.operations.OpsTesting;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipInputStream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Call home against a real HTTPS endpoint on loopback: events raised while the endpoint is down
 * survive a restart of the node in the outbox and arrive, with their ids and (for critical ones)
 * a bundle, once the endpoint is up.
 */
class CallHomeTest {

    @TempDir
    Path directory;

    @Test
    void eventsSurviveARestartWhileTheEndpointIsDownAndArriveOnceItIsUp() throws Exception {
        TlsMaterial endpointTls = TlsMaterial.selfSigned(directory.resolve("vendor"), "vendor", List.of(),
                Clock.systemUTC());
        Path truststore = directory.resolve("vendor-trust.p12");
        try (OutputStream out = Files.newOutputStream(truststore)) {
            endpointTls.trustStore().store(out, "trust-password".toCharArray());
        }
        // The endpoint is down at first: its port is held, refusing connections, until it comes up.
        OpsTesting.PortHold hold = OpsTesting.PortHold.open();
        int port = hold.port();
        OperationsConfig.CallHome settings = new OperationsConfig.CallHome(URI.create("https://127.0.0.1:" + port
                + "/events"), Optional.of(truststore), "trust-password", "bank-42", TimeUnit.MILLISECONDS.toNanos(50),
                TimeUnit.MILLISECONDS.toNanos(400), true);
        OperationsConfig operations = new OperationsConfig.Builder().callHome(settings).build();

        AvanceNode node = AvanceNode.builder(OpsTesting.standalone(directory, "alpha", operations)).build();
        node.start();
        Operations services = Operations.builder(node).start();
        CallHome callHome = services.callHome().orElseThrow();
        node.faults().raise(Fault.of(Component.FAN, "fan2", Severity.CRITICAL, "stopped"));
        node.faults().raise(Fault.of(Component.DISK, "sdb", Severity.MAJOR, "reallocated sectors"));
        OpsTesting.await(() -> callHome.pending() >= 2, Duration.ofSeconds(20), () -> "events not queued: "
                + callHome.pending());
        OpsTesting.await(() -> node.journal().read(e -> e.action().equals("call home")
                && e.outcome().startsWith("failed"), 1).size() == 1, Duration.ofSeconds(20), () -> "no failed attempt");
        services.close();
        node.close();

        List<Map<String, String>> received = new CopyOnWriteArrayList<>();
        List<String> idempotencyKeys = new CopyOnWriteArrayList<>();
        AvanceNode restarted = AvanceNode.builder(OpsTesting.standalone(directory, "alpha", operations)).build();
        restarted.start();
        Operations again = Operations.builder(restarted).start();
        HttpsServer endpoint = null;
        try {
            assertTrue(again.callHome().orElseThrow().pending() >= 2, "the outbox survived the restart");
            endpoint = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            hold.close();
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            KeyStore store = endpointTls.keyStore("key".toCharArray());
            keys.init(store, "key".toCharArray());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            endpoint.setHttpsConfigurator(new HttpsConfigurator(context));
            endpoint.createContext("/events", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                received.add(FlatJson.parse(body));
                idempotencyKeys.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
                exchange.sendResponseHeaders(204, -1);
                exchange.close();
            });
            endpoint.start();
            OpsTesting.await(() -> again.callHome().orElseThrow().pending() == 0, Duration.ofSeconds(30),
                    () -> "not delivered: " + received.size() + " received");
        } finally {
            hold.close();
            again.close();
            restarted.close();
            if (endpoint != null) {
                endpoint.stop(0);
            }
        }
        Map<String, String> fan = received.stream().filter(e -> e.get("text").contains("fan2")).findFirst().orElseThrow();
        Map<String, String> disk = received.stream().filter(e -> e.get("text").contains("sdb")).findFirst().orElseThrow();
        assertEquals("bank-42", fan.get("site"));
        assertEquals("critical", fan.get("level"));
        assertEquals("FaultRaised", fan.get("event"));
        assertTrue(idempotencyKeys.contains(fan.get("id")), "the id travels as the idempotency key too");
        assertTrue(received.indexOf(fan) < received.indexOf(disk), "delivered in the order raised");
        assertTrue(disk.get("bundle") == null, "only critical events carry a bundle");
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(fan.get("bundle"))))) {
            assertEquals("config.txt", zip.getNextEntry().getName(), "the critical event's bundle opens");
        }
        assertEquals(received.size(), received.stream().map(e -> e.get("id")).distinct().count(), "ids are unique");
    }
}
