package io.avance.testkit.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.avance.api.PairRole;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.core.config.OperationsConfig;
import io.avance.core.journal.AuditJournal;
import io.avance.core.monitor.MonitorUsers;
import io.avance.core.monitor.Role;
import io.avance.core.node.AvanceNode;
import io.avance.core.operations.Operations;
import io.avance.testkit.hypervisor.SimulatedHypervisor;
import io.avance.testkit.tools.InProcessPair;
import io.avance.testkit.tools.LoopbackAddresses;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The monitor in a real browser (Debian's chromium through chromedriver), on a real pair in
 * this process with a VM on the simulated hypervisor: an operator logs in, sees both nodes and
 * the VM, runs a switchover and watches the roles change live, and sees the audit entry; a
 * forged cross-site form changes nothing; a viewer's action is refused; a request without a
 * session gets 401. A screenshot of each state goes to {@code target/screenshots/}.
 */
class MonitorBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration LIMIT = Duration.ofSeconds(40);
    private static final long MIB = 1 << 20;

    @TempDir
    Path directory;

    private final Path screenshots = Path.of("target", "screenshots");

    @Test
    void anOperatorSwitchesOverInTheBrowserAndAViewerAndAForgedFormCannotAct() throws Exception {
        boolean browser = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (System.getenv("CI") != null) {
            assertTrue(browser, "CI must install chromium and chromium-driver (.ci/run)");
        }
        Assumptions.assumeTrue(browser, "no /usr/bin/chromium and /usr/bin/chromedriver: apt-get install chromium "
                + "chromium-driver");
        Files.createDirectories(screenshots);
        for (String id : List.of("a", "b")) {
            Path users = directory.resolve(id).resolve("monitor-users");
            MonitorUsers.put(users, "olga", Role.OPERATOR, "operator-password".toCharArray());
            MonitorUsers.put(users, "victor", Role.VIEWER, "viewer-password".toCharArray());
        }
        OperationsConfig operations = new OperationsConfig.Builder()
                .monitor(OperationsConfig.Monitor.on(new InetSocketAddress("127.0.0.1", 0))).build();
        List<Operations> services = new ArrayList<>();
        try (InProcessPair pair = InProcessPair.in(directory).configure((id, config) -> config.operations(operations))
                .start(config -> AvanceNode.builder(config).hypervisor(new SimulatedHypervisor(
                        new HostResources(4, 1024 * MIB))))) {
            AvanceNode primary = pair.awaitPaired(LIMIT);
            AvanceNode backup = pair.other(primary);
            for (AvanceNode node : List.of(pair.a(), pair.b())) {
                services.add(Operations.builder(node).start());
            }
            Operations onPrimary = services.get(primary == pair.a() ? 0 : 1);
            int port = onPrimary.monitor().orElseThrow().localAddress().getPort();
            String base = "https://127.0.0.1:" + port;
            primary.vms().define(SimulatedHypervisor.kvSpec("vm1", 64 * MIB, new VmSpec.Disk("vm1-disk", 16 * MIB, 1),
                    LoopbackAddresses.next(LoopbackAddresses.SERVICE_PORT), Map.of()), true);
            pair.events().await(() -> primary.volumes().status("vm1-disk").map(s -> s.state().name().equals("SYNCED"))
                    .orElse(false), LIMIT, () -> "vm1-disk never synced: " + primary.volumes().volumes());

            // Without a session: 401 for pages and API calls alike.
            HttpClient http = MonitorTls.trusting(onPrimary);
            for (String path : List.of("/", "/api/pair", "/api/events", "/static/app.js")) {
                HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).GET().build();
                HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
                assertEquals(401, response.statusCode(), path);
            }

            WebDriver driver = chrome();
            HttpServer attacker = null;
            try {
                WebDriverWait wait = new WebDriverWait(driver, LIMIT, Duration.ofMillis(100));
                // The live page redraws its cards on every event: an element found a moment ago
                // may be gone by the time it is read or clicked. Every read and click of a live
                // element therefore goes through the wait, which tries again on the new one.
                wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
                driver.get(base + "/");
                wait.until(d -> !d.findElements(By.id("login-button")).isEmpty());
                shot(driver, "01-login");
                logIn(driver, wait, "olga", "operator-password");
                String primaryId = primary.id().value();
                String backupId = backup.id().value();
                wait.until(d -> role(d, primaryId).equals("primary") && role(d, backupId).equals("backup")
                        && !d.findElements(By.id("vm-vm1")).isEmpty()
                        && "running".equals(d.findElement(By.id("vm-vm1")).getAttribute("data-state")));
                until(wait, "the VM card shows it running on the primary " + primaryId,
                        d -> d.findElement(By.id("vm-vm1")).getText().contains(primaryId));
                until(wait, "the volume card shows vm1-disk synced",
                        d -> d.findElement(By.id("volume-vm1-disk")).getText().contains("synced"));
                shot(driver, "02-pair");

                // Restart the VM from its row, through the confirmation.
                wait.until(d -> {
                    d.findElement(By.cssSelector("#vm-vm1 button")).click();
                    return true;
                });
                wait.until(d -> d.findElement(By.id("modal")).isDisplayed()
                        && d.findElement(By.id("modal-title")).getText().contains("Restart VM vm1"));
                driver.findElement(By.id("modal-ok")).click();
                wait.until(d -> d.findElement(By.id("toast")).getText().equals("done"));
                wait.until(d -> "running".equals(d.findElement(By.id("vm-vm1")).getAttribute("data-state")));
                assertEquals(1, primary.journal().read(e -> e.actor().equals("olga") && e.action().equals("restart VM")
                        && e.outcome().equals("done"), 10).size(), "the restart is journaled");

                driver.findElement(By.id("btn-switchover")).click();
                wait.until(d -> d.findElement(By.id("modal")).isDisplayed());
                shot(driver, "03-confirm-switchover");
                driver.findElement(By.id("modal-ok")).click();
                // The page does not reload: the roles change through the event stream.
                Object marker = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                        "window.avanceMarker = 42; return window.avanceMarker;");
                assertEquals(42L, marker);
                wait.until(d -> role(d, primaryId).equals("backup") && role(d, backupId).equals("primary"));
                assertEquals(42L, ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                        "return window.avanceMarker;"), "the page was not reloaded");
                pair.events().await(() -> backup.role() == PairRole.PRIMARY && backup.vms().get("vm1")
                        .map(vm -> vm.state() == VmState.RUNNING).orElse(false), LIMIT, () -> "vm1 did not move");
                shot(driver, "04-after-switchover");

                wait.until(d -> d.findElements(By.cssSelector("#journal tr.journal-entry")).stream()
                        .anyMatch(row -> row.getText().contains("olga") && row.getText().contains("switchover")));
                shot(driver, "05-journal");

                // A forged cross-site form: another site (http://localhost) posts to the monitor.
                attacker = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
                String forged = "<!DOCTYPE html><html><body><form method=\"post\" action=\"" + base
                        + "/api/maintenance\"><input name=\"on\" value=\"true\"></form>"
                        + "<script>document.forms[0].submit()</script></body></html>";
                attacker.createContext("/", exchange -> {
                    byte[] body = forged.getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "text/html");
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                });
                attacker.start();
                driver.get("http://localhost:" + attacker.getAddress().getPort() + "/");
                wait.until(d -> d.getCurrentUrl().startsWith(base));
                wait.until(d -> d.findElement(By.tagName("body")).getText().contains("error"));
                String refusal = driver.findElement(By.tagName("body")).getText();
                shot(driver, "06-forged-request-refused");
                assertTrue(refusal.contains("log in first") || refusal.contains("CSRF") || refusal.contains("cross-site"),
                        refusal);
                assertFalse(primary.maintenance() || backup.maintenance(), "the forged form changed nothing");

                // A viewer sees the pair but cannot act.
                driver.get(base + "/");
                wait.until(d -> !d.findElements(By.id("btn-logout")).isEmpty());
                driver.findElement(By.id("btn-logout")).click();
                wait.until(d -> !d.findElements(By.id("login-button")).isEmpty());
                logIn(driver, wait, "victor", "viewer-password");
                wait.until(d -> d.findElement(By.id("role-note")).getText().contains("viewer")
                        && role(d, backupId).equals("primary"));
                driver.findElement(By.id("btn-maintenance")).click();
                wait.until(d -> d.findElement(By.id("toast")).isDisplayed()
                        && d.findElement(By.id("toast")).getText().contains("refused"));
                shot(driver, "07-viewer-refused");
                assertFalse(primary.maintenance(), "the viewer's action was refused");
                List<AuditJournal.Entry> refused = primary.journal().read(e -> e.actor().equals("victor")
                        && e.outcome().startsWith("refused"), 10);
                assertFalse(refused.isEmpty(), "the refusal is journaled");
                List<AuditJournal.Entry> switchovers = primary.journal().read(e -> e.actor().equals("olga")
                        && e.action().equals("switchover"), 10);
                assertEquals("started", switchovers.get(0).outcome());
                Files.copy(screenshots.resolve("04-after-switchover.png"), screenshots.resolve("monitor.png"),
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (RuntimeException | AssertionError e) {
                // Keep what the browser showed when it went wrong.
                shot(driver, "failure");
                Files.writeString(screenshots.resolve("failure.html"), driver.getPageSource());
                throw e;
            } finally {
                driver.quit();
                if (attacker != null) {
                    attacker.stop(0);
                }
            }
        } finally {
            services.forEach(Operations::close);
        }
    }

    /** Waits for a condition on the live page; on timeout, fails naming what was awaited. */
    private static void until(WebDriverWait wait, String what,
                              java.util.function.Function<WebDriver, Boolean> condition) {
        try {
            wait.until(condition::apply);
        } catch (org.openqa.selenium.TimeoutException e) {
            throw new AssertionError("the page never showed that " + what, e);
        }
    }

    private static String role(WebDriver driver, String node) {
        try {
            List<WebElement> card = driver.findElements(By.id("node-" + node));
            return card.isEmpty() ? "" : String.valueOf(card.get(0).getAttribute("data-role"));
        } catch (org.openqa.selenium.StaleElementReferenceException e) {
            // The live page redrew the card between finding and reading it: read again next poll.
            return "";
        }
    }

    private void logIn(WebDriver driver, WebDriverWait wait, String user, String password) {
        driver.findElement(By.id("user")).sendKeys(user);
        driver.findElement(By.id("password")).sendKeys(password);
        driver.findElement(By.id("login-button")).click();
        wait.until(d -> !d.findElements(By.id("btn-switchover")).isEmpty()
                && d.findElement(By.id("live")).getText().equals("live"));
    }

    private void shot(WebDriver driver, String name) throws IOException {
        byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
        Files.write(screenshots.resolve(name + ".png"), png);
    }

    private WebDriver chrome() throws IOException {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        Path profile = Files.createTempDirectory(directory, "chromium-profile");
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1300", "--user-data-dir=" + profile);
        // The monitor's certificate is self-signed; the test checks the server, not the trust chain.
        options.setAcceptInsecureCerts(true);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogFile(new File("target/chromedriver.log")).build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        return driver;
    }
}
