package io.avance.core.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.core.operations.OpsTesting;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor over real HTTPS on loopback, with a standalone node: 401 without a session, login
 * with lock-out, cookie flags, CSRF and Origin checks, roles, the journal, server-sent events,
 * Prometheus metrics and the bundle download.
 */
class MonitorServerTest {

    @TempDir
    Path directory;

    private AvanceNode node;
    private Operations operations;
    private MonitorServer monitor;
    private HttpClient http;
    private String base;

    @BeforeEach
    void start() throws Exception {
        OperationsConfig.Monitor settings = new OperationsConfig.Monitor(new InetSocketAddress("127.0.0.1", 0),
                Optional.empty(), "", Optional.empty(), TimeUnit.MINUTES.toNanos(30), 3, TimeUnit.MINUTES.toNanos(5));
        node = AvanceNode.builder(OpsTesting.standalone(directory, "solo",
                new OperationsConfig.Builder().monitor(settings).build()))
                .meterRegistry(Operations.prometheusRegistry()).build();
        node.start();
        Path users = node.config().dataDirectory().resolve("monitor-users");
        MonitorUsers.put(users, "olga", Role.OPERATOR, "operator-password".toCharArray());
        MonitorUsers.put(users, "victor", Role.VIEWER, "viewer-password".toCharArray());
        MonitorUsers.put(users, "ada", Role.ADMINISTRATOR, "admin-password".toCharArray());
        operations = Operations.builder(node).start();
        monitor = operations.monitor().orElseThrow();
        http = OpsTesting.trusting(monitor.tls());
        base = "https://127.0.0.1:" + monitor.localAddress().getPort();
    }

    @AfterEach
    void stop() {
        operations.close();
        node.close();
    }

    @Test
    void withoutASessionEveryPageAndApiCallIs401() throws Exception {
        for (String path : List.of("/", "/index.html", "/static/app.js", "/api/pair", "/api/session", "/api/events",
                "/api/journal", "/api/bundle", "/metrics", "/no-such-page")) {
            HttpResponse<String> response = get(path, null);
            assertEquals(401, response.statusCode(), path);
        }
        HttpResponse<String> page = get("/", null);
        assertTrue(page.body().contains("<form method=\"post\" action=\"/login\""), "the 401 page is the login form");
        assertEquals(401, post("/api/switchover", null, null, "reason=x").statusCode());
        assertEquals(401, get("/api/pair", "avance_session=forged-token").statusCode());
    }

    @Test
    void theFirstStartMakesAnAdministratorWithARandomPasswordAndTheCertificateIsStable() throws Exception {
        Path initial = node.config().dataDirectory().resolve("monitor-users.initial-password");
        // The test added users before the monitor started, so no initial administrator was made.
        assertFalse(Files.exists(initial));
        Path fresh = directory.resolve("fresh-users");
        Path passwordFile = MonitorUsers.createInitial(fresh).orElseThrow();
        String password = Files.readString(passwordFile).trim();
        assertTrue(new MonitorUsers(fresh).authenticate("admin", password.toCharArray()).isPresent());
        assertEquals(Role.ADMINISTRATOR, new MonitorUsers(fresh).current().get("admin").role());
        assertFalse(Files.readString(fresh).contains(password), "the users file holds only a hash");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(fresh)));
        TlsMaterial again = TlsMaterial.selfSigned(node.config().dataDirectory(), "solo", List.of(),
                java.time.Clock.systemUTC());
        assertEquals(monitor.tls().fingerprint(), again.fingerprint(), "the certificate survives a restart");
        assertTrue(monitor.tls().selfSigned());
    }

    @Test
    void loginSetsAStrictHttpOnlySecureCookieAndRepeatedFailuresLockOut() throws Exception {
        HttpResponse<String> wrong = login("olga", "wrong-password");
        assertEquals(401, wrong.statusCode());
        assertTrue(wrong.headers().firstValue("Set-Cookie").isEmpty());

        HttpResponse<String> ok = login("olga", "operator-password");
        assertEquals(303, ok.statusCode());
        String cookie = ok.headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(cookie.contains("HttpOnly"), cookie);
        assertTrue(cookie.contains("SameSite=Strict"), cookie);
        assertTrue(cookie.contains("Secure"), cookie);
        String session = cookie.substring(0, cookie.indexOf(';'));
        HttpResponse<String> pair = get("/api/pair", session);
        assertEquals(200, pair.statusCode());
        assertTrue(pair.body().contains("\"node\":\"solo\""), pair.body());

        for (int i = 0; i < 3; i++) {
            assertEquals(401, login("victor", "guess" + i).statusCode());
        }
        HttpResponse<String> locked = login("victor", "viewer-password");
        assertEquals(429, locked.statusCode(), "the right password is refused while locked out");
        assertTrue(locked.body().contains("Too many failed logins"));
        List<String> journal = node.journal().readLines();
        assertTrue(journal.stream().anyMatch(l -> l.contains("\"actor\":\"victor\"") && l.contains("locked out")),
                String.join("\n", journal));
    }

    @Test
    void actionsNeedTheCsrfTokenAndTheSameOriginAndAViewerCannotAct() throws Exception {
        String olga = sessionCookie("olga", "operator-password");
        String csrf = csrf(olga);
        assertEquals(403, post("/api/maintenance", olga, null, "on=true").statusCode(), "no token");
        assertEquals(403, post("/api/maintenance", olga, "wrong", "on=true").statusCode(), "wrong token");
        HttpRequest forged = HttpRequest.newBuilder(URI.create(base + "/api/maintenance"))
                .header("Cookie", olga).header("X-CSRF-Token", csrf).header("Origin", "https://evil.example")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("on=true")).build();
        assertEquals(403, http.send(forged, HttpResponse.BodyHandlers.ofString()).statusCode(), "cross-site origin");
        assertFalse(node.maintenance(), "no refused request changed anything");

        HttpResponse<String> done = post("/api/maintenance", olga, csrf, "on=true");
        assertEquals(200, done.statusCode(), done.body());
        assertTrue(node.maintenance());

        String victor = sessionCookie("victor", "viewer-password");
        HttpResponse<String> refused = post("/api/maintenance", victor, csrf(victor), "on=false");
        assertEquals(403, refused.statusCode());
        assertTrue(refused.body().contains("viewer"), refused.body());
        assertTrue(node.maintenance(), "the viewer's action was refused");
        assertEquals(403, get("/api/bundle", victor).statusCode(), "a viewer gets no bundle");

        node.faults().raise(Fault.of(Component.FAN, "fan2", Severity.MAJOR, "stopped"));
        HttpResponse<String> ack = post("/api/fault/acknowledge", olga, csrf, "component=FAN&location=fan2");
        assertEquals(200, ack.statusCode(), ack.body());
        assertEquals("olga", node.faults().acknowledgement(Component.FAN, "fan2").orElseThrow().by());
        assertTrue(get("/api/pair", olga).body().contains("\"acknowledgedBy\":\"olga\""));

        List<AuditJournal.Entry> entries = node.journal().read(e -> true, 100);
        assertTrue(entries.stream().anyMatch(e -> e.actor().equals("olga") && e.action().equals("maintenance")
                && e.outcome().equals("done")));
        assertTrue(entries.stream().anyMatch(e -> e.actor().equals("victor") && e.action().equals("maintenance")
                && e.outcome().startsWith("refused")));
        assertTrue(entries.stream().anyMatch(e -> e.actor().equals("olga") && e.action().equals("acknowledge fault")));
        String filtered = get("/api/journal?actor=victor", olga).body();
        assertTrue(filtered.contains("\"actor\":\"victor\"") && !filtered.contains("\"actor\":\"olga\""), filtered);
    }

    @Test
    void onlyAnAdministratorMayDiscardASideOfASplitBrainAndTheEngineStillChecks() throws Exception {
        String olga = sessionCookie("olga", "operator-password");
        HttpResponse<String> operator = post("/api/volume/resolve", olga, csrf(olga), "volume=data&discard=solo");
        assertEquals(403, operator.statusCode(), operator.body());
        assertTrue(operator.body().contains("needs administrator"), operator.body());
        String ada = sessionCookie("ada", "admin-password");
        HttpResponse<String> admin = post("/api/volume/resolve", ada, csrf(ada), "volume=data&discard=solo");
        assertEquals(409, admin.statusCode(), "no such volume: the engine refuses, and the monitor says so");
        assertTrue(admin.body().contains("refused"), admin.body());
        HttpResponse<String> restart = post("/api/vm/restart", olga, csrf(olga), "vm=vm1");
        assertEquals(409, restart.statusCode(), "a node without a hypervisor has no VM to restart: " + restart.body());
        List<AuditJournal.Entry> entries = node.journal().read(e -> e.action().equals("resolve split brain"), 10);
        assertEquals(2, entries.size(), "both attempts are journaled");
        assertTrue(entries.stream().anyMatch(e -> e.actor().equals("olga") && e.outcome().contains("needs administrator")));
        assertTrue(entries.stream().anyMatch(e -> e.actor().equals("ada") && e.outcome().startsWith("refused")));
    }

    @Test
    void theEventStreamPushesTheSnapshotWhenSomethingChanges() throws Exception {
        String olga = sessionCookie("olga", "operator-password");
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/api/events")).header("Cookie", olga).GET().build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        assertEquals("text/event-stream; charset=utf-8", response.headers().firstValue("Content-Type").orElse(""));
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            assertTrue(nextData(reader).contains("\"node\":\"solo\""));
            node.faults().raise(Fault.of(Component.POWER_SUPPLY, "psu1", Severity.MAJOR, "no input"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            boolean seen = false;
            while (!seen && System.nanoTime() < deadline) {
                seen = nextData(reader).contains("\"location\":\"psu1\"");
            }
            assertTrue(seen, "the fault reached the stream");
        }
    }

    @Test
    void prometheusMetricsNeedASessionOrBasicCredentials() throws Exception {
        assertEquals(401, get("/metrics", null).statusCode());
        HttpRequest basic = HttpRequest.newBuilder(URI.create(base + "/metrics")).header("Authorization", "Basic "
                + Base64.getEncoder().encodeToString("victor:viewer-password".getBytes(StandardCharsets.UTF_8))).GET()
                .build();
        HttpResponse<String> metrics = http.send(basic, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.body().contains("avance_"), metrics.body().substring(0, Math.min(500, metrics.body().length())));
        HttpRequest wrong = HttpRequest.newBuilder(URI.create(base + "/metrics")).header("Authorization", "Basic "
                + Base64.getEncoder().encodeToString("victor:nope".getBytes(StandardCharsets.UTF_8))).GET().build();
        assertEquals(401, http.send(wrong, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void anOperatorDownloadsABundleThatOpens() throws Exception {
        String olga = sessionCookie("olga", "operator-password");
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/api/bundle")).header("Cookie", olga).GET().build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Disposition").orElse("").contains(".zip"));
        List<String> names = new java.util.ArrayList<>();
        try (ZipInputStream zip = new ZipInputStream(new java.io.ByteArrayInputStream(response.body()))) {
            for (java.util.zip.ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
                names.add(entry.getName());
            }
        }
        assertTrue(names.containsAll(List.of("health.json", "journal/audit.log", "threads.txt", "metrics.txt")), names.toString());
    }

    private static String nextData(BufferedReader reader) throws Exception {
        for (String line; (line = reader.readLine()) != null; ) {
            if (line.startsWith("data: ")) {
                return line;
            }
        }
        throw new AssertionError("the stream ended");
    }

    private String sessionCookie(String user, String password) throws Exception {
        HttpResponse<String> response = login(user, password);
        assertEquals(303, response.statusCode(), response.body());
        String cookie = response.headers().firstValue("Set-Cookie").orElseThrow();
        return cookie.substring(0, cookie.indexOf(';'));
    }

    private String csrf(String cookie) throws Exception {
        String body = get("/api/session", cookie).body();
        int start = body.indexOf("\"csrf\":\"") + 8;
        return body.substring(start, body.indexOf('"', start));
    }

    private HttpResponse<String> login(String user, String password) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/login"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", base)
                .POST(HttpRequest.BodyPublishers.ofString("user=" + user + "&password=" + password)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path, String cookie) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).GET();
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        if (path.equals("/api/events")) {
            HttpResponse<InputStream> stream = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            stream.body().close();
            return new StatusOnly(stream.statusCode());
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String cookie, String csrf, String form) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", base)
                .POST(HttpRequest.BodyPublishers.ofString(form));
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        if (csrf != null) {
            request.header("X-CSRF-Token", csrf);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The status of a streamed response whose body the test does not read. */
    private record StatusOnly(int statusCode) implements HttpResponse<String> {
        @Override public HttpRequest request() { return null; }
        @Override public Optional<HttpResponse<String>> previousResponse() { return Optional.empty(); }
        @Override public java.net.http.HttpHeaders headers() { return java.net.http.HttpHeaders.of(java.util.Map.of(), (a, b) -> true); }
        @Override public String body() { return ""; }
        @Override public Optional<javax.net.ssl.SSLSession> sslSession() { return Optional.empty(); }
        @Override public URI uri() { return null; }
        @Override public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
    }
}
