package io.avance.testkit.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.PairRole;
import io.avance.api.hypervisor.HostResources;
import io.avance.core.config.OperationsConfig;
import io.avance.core.monitor.MonitorUsers;
import io.avance.core.monitor.Role;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.testkit.hypervisor.SimulatedHypervisor;
import io.avance.testkit.tools.InProcessPair;
import io.avance.testkit.tools.LoopbackAddresses;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Either node's monitor acts for the pair: a switchover (or a VM's creation and deletion, for an
 * administrator) asked on the backup's monitor is sent, signed, to the primary's and carried out
 * there as the same user; an unsigned or replayed peer request is refused.
 */
class MonitorPeerTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    /** A pair with a monitor on each node, each knowing where the other's is. */
    private interface MonitoredPair {
        void run(InProcessPair pair, AvanceNode primary, AvanceNode backup, Map<String, Operations> byNode,
                 Map<String, String> monitors) throws Exception;
    }

    private void withMonitors(boolean withVms, MonitoredPair test) throws Exception {
        for (String id : List.of("a", "b")) {
            Path users = directory.resolve(id).resolve("monitor-users");
            MonitorUsers.put(users, "olga", Role.OPERATOR, "operator-password".toCharArray());
            MonitorUsers.put(users, "victor", Role.VIEWER, "viewer-password".toCharArray());
            MonitorUsers.put(users, "ada", Role.ADMINISTRATOR, "admin-password".toCharArray());
        }
        List<Operations> services = new ArrayList<>();
        Map<String, Operations> byNode = new HashMap<>();
        InProcessPair configured = InProcessPair.in(directory);
        // Each node's monitor on the node's own address; each knows where the other's is.
        Map<String, String> monitors = Map.of("a", monitorUrl(configured, "a"), "b", monitorUrl(configured, "b"));
        try (InProcessPair pair = configured.configure((id, config) -> {
            config.operations(new OperationsConfig.Builder().monitor(OperationsConfig.Monitor.on(new InetSocketAddress(
                    configured.host(id), LoopbackAddresses.MONITOR_PORT))
                    .withPeer(URI.create(monitors.get(id.equals("a") ? "b" : "a")))).build());
            if (withVms) {
                config.nbdListen(new InetSocketAddress(configured.host(id), LoopbackAddresses.NBD_PORT));
            }
        }).start(config -> withVms ? AvanceNode.builder(config).hypervisor(new SimulatedHypervisor(
                new HostResources(4, 1L << 30))) : AvanceNode.builder(config))) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            for (AvanceNode node : List.of(pair.a(), pair.b())) {
                Operations operations = Operations.builder(node).start();
                services.add(operations);
                byNode.put(node.id().value(), operations);
            }
            pair.events().await(() -> primary.status().flatMap(s -> s.peer()).map(p -> p.role() == PairRole.BACKUP
                    && p.data() == io.avance.api.replication.DataState.UP_TO_DATE).orElse(false), LIMIT,
                    () -> "the backup never caught up");
            test.run(pair, primary, backup, byNode, monitors);
        } finally {
            services.forEach(Operations::close);
        }
    }

    @Test
    void aSwitchoverAskedOnTheBackupsMonitorRunsOnThePrimary() throws Exception {
        withMonitors(false, (pair, primary, backup, byNode, monitors) -> {
            Operations onBackup = byNode.get(backup.id().value());
            HttpClient http = MonitorTls.trusting(onBackup);
            String base = monitors.get(backup.id().value());

            String victor = login(http, base, "victor", "viewer-password");
            HttpResponse<String> refused = post(http, base, "/api/switchover", victor, csrf(http, base, victor),
                    "reason=by+a+viewer");
            assertEquals(403, refused.statusCode(), "the backup checks the role before sending: " + refused.body());

            String olga = login(http, base, "olga", "operator-password");
            HttpResponse<String> done = post(http, base, "/api/switchover", olga, csrf(http, base, olga),
                    "reason=from+the+backup");
            assertEquals(200, done.statusCode(), done.body());
            assertTrue(done.body().contains("on node " + primary.id() + ": started"), done.body());
            pair.events().await(() -> backup.role() == PairRole.PRIMARY && primary.role() == PairRole.BACKUP, LIMIT,
                    () -> "no switchover");
            String olgaVia = "olga@" + backup.id();
            assertEquals(1, primary.journal().read(e -> e.actor().equals(olgaVia) && e.action().equals("switchover")
                    && e.outcome().equals("started"), 5).size(), "the primary journals the user and the node she used");
            assertEquals(1, backup.journal().read(e -> e.actor().equals("olga") && e.detail().contains("sent to the primary"),
                    5).size());

            // A request that claims to come from the peer, without its signature, or replayed, is refused.
            String target = monitors.get(primary.id().value()) + "/peer/api/switchover";
            HttpRequest forged = HttpRequest.newBuilder(URI.create(target)).header("X-Avance-Peer", backup.id().value())
                    .header("X-Avance-Time", String.valueOf(System.currentTimeMillis()))
                    .header("X-Avance-Nonce", "00112233445566778899aabbccddeeff").header("X-Avance-User", "mallory")
                    .header("X-Avance-Role", "administrator").header("X-Avance-Signature", "AAAA")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("reason=forged")).build();
            HttpResponse<String> rejected = MonitorTls.trusting(byNode.get(primary.id().value())).send(forged,
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, rejected.statusCode(), rejected.body());
        });
    }

    @Test
    void anAdministratorCreatesAndDeletesAVmFromTheBackupsMonitor() throws Exception {
        withMonitors(true, (pair, primary, backup, byNode, monitors) -> {
            HttpClient http = MonitorTls.trusting(byNode.get(backup.id().value()));
            String base = monitors.get(backup.id().value());
            String olga = login(http, base, "olga", "operator-password");
            HttpResponse<String> refused = post(http, base, "/api/vm/create", olga, csrf(http, base, olga),
                    "name=web&memory=64MiB&disk=4MiB");
            assertEquals(403, refused.statusCode(), "creating VMs is for administrators: " + refused.body());

            String ada = login(http, base, "ada", "admin-password");
            String token = csrf(http, base, ada);
            HttpResponse<String> created = post(http, base, "/api/vm/create", ada, token,
                    "name=web&memory=64MiB&disk=4MiB&cores=1");
            assertEquals(200, created.statusCode(), created.body());
            assertTrue(created.body().contains("on node " + primary.id() + ": done"), created.body());
            assertEquals(io.avance.api.hypervisor.VmState.RUNNING, primary.vms().get("web").orElseThrow().state());
            // The new disk syncs to the backup first; until then every creation is refused for that.
            pair.events().await(() -> primary.volumeManager().volume("web-disk").map(v -> v.state()
                    == io.avance.api.replication.ReplicationState.SYNCED).orElse(false), LIMIT,
                    () -> "web-disk never synced to the backup");
            HttpResponse<String> tooBig = post(http, base, "/api/vm/create", ada, token,
                    "name=huge&memory=4GiB&disk=4MiB");
            assertTrue(tooBig.body().contains("refused") && tooBig.body().contains("MiB"), tooBig.body());
            HttpResponse<String> running = post(http, base, "/api/vm/delete", ada, token, "vm=web");
            assertTrue(running.body().contains("stop it first"), running.body());
            primary.vms().stop("web");
            HttpResponse<String> deleted = post(http, base, "/api/vm/delete", ada, token, "vm=web");
            assertTrue(deleted.body().contains("done"), deleted.body());
            assertTrue(primary.vms().get("web").isEmpty());
            pair.events().await(() -> backup.volumeManager().volume("web-disk").isEmpty(), LIMIT,
                    () -> "the backup still has web-disk");
            assertEquals(1, primary.journal().read(e -> e.actor().equals("ada@" + backup.id())
                    && e.action().equals("create VM") && e.outcome().equals("done"), 5).size(),
                    primary.journal().readLines().toString());
        });
    }

    private static String monitorUrl(InProcessPair pair, String id) {
        return "https://" + pair.host(id).getHostAddress() + ":" + LoopbackAddresses.MONITOR_PORT;
    }

    private static String login(HttpClient http, String base, String user, String password) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/login"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", base)
                .POST(HttpRequest.BodyPublishers.ofString("user=" + user + "&password=" + password)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(303, response.statusCode(), response.body());
        String cookie = response.headers().firstValue("Set-Cookie").orElseThrow();
        return cookie.substring(0, cookie.indexOf(';'));
    }

    private static String csrf(HttpClient http, String base, String cookie) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(base + "/api/session")).header("Cookie", cookie).GET()
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        int start = body.indexOf("\"csrf\":\"") + 8;
        return body.substring(start, body.indexOf('"', start));
    }

    private static HttpResponse<String> post(HttpClient http, String base, String path, String cookie, String csrf,
                                             String form) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Cookie", cookie)
                .header("X-CSRF-Token", csrf).header("Origin", base)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
