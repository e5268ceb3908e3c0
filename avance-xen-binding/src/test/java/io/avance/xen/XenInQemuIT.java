package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.opentest4j.TestAbortedException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The Xen integration stage (Maven profile {@code xen-it}): builds the boot image from Debian's
 * packages ({@code .ci/xen/build-image.sh}), boots Xen 4.17 in qemu-system-x86_64 under software
 * emulation with a hard time limit ({@code .ci/xen/boot.sh}), lets dom0 run the
 * {@code *InDom0} test classes with the JUnit console launcher, and turns each test of the
 * report dom0 sends back over the serial console into a test here, which passes or fails as it
 * did in dom0.
 *
 * <p>Settings (system properties, set by the profile): {@code avance.xen.ciDir},
 * {@code avance.xen.work}, {@code avance.xen.lib}, {@code avance.xen.cache},
 * {@code avance.xen.timeoutSeconds}, and {@code avance.xen.select} (JUnit console selectors,
 * to run fewer classes while developing).
 */
class XenInQemuIT {

    private static Path property(String name) {
        String value = System.getProperty(name);
        if (value == null) {
            fail("system property " + name + " is not set: run through the xen-it Maven profile");
        }
        return Paths.get(value);
    }

    @TestFactory
    Stream<DynamicTest> runTheInDom0TestsInXen() throws Exception {
        Path ci = property("avance.xen.ciDir");
        Path work = property("avance.xen.work");
        Path lib = property("avance.xen.lib");
        Path cache = property("avance.xen.cache");
        int timeout = Integer.getInteger("avance.xen.timeoutSeconds", 1200);
        Path payload = work.resolve("payload");
        deleteTree(payload);
        Files.createDirectories(payload.resolve("lib"));
        try (Stream<Path> jars = Files.list(lib)) {
            for (Path jar : jars.toList()) {
                String name = jar.getFileName().toString().startsWith("junit-platform-console-standalone")
                        ? "junit-platform-console-standalone.jar" : jar.getFileName().toString();
                Files.copy(jar, payload.resolve("lib").resolve(name));
            }
        }
        copyTree(Paths.get("target/classes"), payload.resolve("classes"));
        copyTree(Paths.get("target/test-classes"), payload.resolve("test-classes"));
        Files.copy(ci.resolve("dom0-run-tests.sh"), payload.resolve("run-tests.sh"));
        payload.resolve("run-tests.sh").toFile().setExecutable(true);
        String select = System.getProperty("avance.xen.select", "");
        if (!select.isBlank()) {
            Files.writeString(payload.resolve("select"), select);
        }
        // dom0 prints a thread dump, its processes and the libxl log if the tests still run then.
        Files.writeString(payload.resolve("dump-after"), Integer.toString(Math.max(60, timeout - 60)));

        long started = System.nanoTime();
        Path image = work.resolve("image");
        Path buildLog = work.resolve("build-image.log");
        int built = run(List.of("bash", ci.resolve("build-image.sh").toString(), cache.toString(), payload.toString(),
                image.toString()), buildLog, 600);
        assertEquals(0, built, "build-image.sh failed; see " + buildLog + ":\n" + tail(buildLog, 30));
        long imageReady = System.nanoTime();
        Path serial = work.resolve("serial.log");
        Files.deleteIfExists(serial);
        int booted = run(List.of("bash", ci.resolve("boot.sh").toString(), image.toString(), serial.toString(),
                Integer.toString(timeout)), work.resolve("qemu.log"), timeout + 30);
        long finished = System.nanoTime();
        String console = Files.exists(serial) ? Files.readString(serial, StandardCharsets.ISO_8859_1) : "";
        System.out.printf("XEN-STAGE image %.1f s, boot and tests %.1f s, qemu exit %d; serial log %s%n",
                (imageReady - started) / 1e9, (finished - imageReady) / 1e9, booted, serial);
        for (String line : console.split("\n")) {
            if (line.contains("XEN-METRIC") || line.startsWith("avance-dom0:")) {
                System.out.println(line.strip());
            }
        }
        if (booted == 124) {
            fail("Xen in QEMU did not finish within " + timeout + " s; serial log " + serial + ":\n"
                    + lastLines(console, 60));
        }
        byte[] report = report(console, serial, "REPORT");
        Files.write(work.resolve("TEST-in-dom0.xml"), report);
        List<DynamicTest> tests = tests(report);
        assertTrue(tests.size() >= (select.isBlank() ? 10 : 1),
                "dom0 ran only " + tests.size() + " tests; serial log " + serial);
        return tests.stream();
    }

    /** The XML report dom0 sent ({@code kind} REPORT), checked against its SHA-256. */
    private static byte[] report(String console, Path serial, String kind) throws Exception {
        String[] lines = console.replace("\r", "").split("\n");
        String sha = null;
        StringBuilder base64 = null;
        String marker = "AVANCE-" + kind + "-";
        for (String line : lines) {
            if (line.startsWith(marker + "SHA256 ")) {
                sha = line.substring((marker + "SHA256 ").length()).strip();
            } else if (line.equals(marker + "BEGIN")) {
                base64 = new StringBuilder();
            } else if (line.equals(marker + "END")) {
                break;
            } else if (base64 != null) {
                base64.append(line.strip());
            }
        }
        if (sha == null || base64 == null) {
            fail("dom0 sent no test report; serial log " + serial + ":\n" + lastLines(console, 80));
        }
        byte[] gzipped = Base64.getDecoder().decode(base64.toString());
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(gzipped));
        assertEquals(sha, actual, "the report was damaged on the serial console");
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
            return in.readAllBytes();
        }
    }

    /** One dynamic test per test case of the report, passing or failing as it did in dom0. */
    private static List<DynamicTest> tests(byte[] report) throws Exception {
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(report));
        NodeList cases = document.getElementsByTagName("testcase");
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < cases.getLength(); i++) {
            Element testcase = (Element) cases.item(i);
            String name = testcase.getAttribute("classname").replace("io.avance.xen.", "") + "."
                    + testcase.getAttribute("name") + " [in Xen, " + testcase.getAttribute("time") + " s]";
            Element failure = first(testcase, "failure");
            Element error = first(testcase, "error");
            Element skipped = first(testcase, "skipped");
            Element output = first(testcase, "system-out");
            String out = output == null ? "" : output.getTextContent();
            tests.add(DynamicTest.dynamicTest(name, () -> {
                if (!out.isBlank()) {
                    System.out.println(out.strip());
                }
                Element problem = failure != null ? failure : error;
                if (problem != null) {
                    throw new AssertionError("failed in dom0: " + problem.getAttribute("message") + "\n"
                            + problem.getTextContent());
                }
                if (skipped != null) {
                    throw new TestAbortedException("skipped in dom0: " + skipped.getAttribute("message"));
                }
            }));
        }
        return tests;
    }

    private static Element first(Element parent, String tag) {
        NodeList list = parent.getElementsByTagName(tag);
        return list.getLength() == 0 ? null : (Element) list.item(0);
    }

    private static int run(List<String> command, Path log, int timeoutSeconds) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return 124;
        }
        return process.exitValue();
    }

    private static String tail(Path file, int lines) throws IOException {
        return Files.exists(file) ? lastLines(Files.readString(file, StandardCharsets.ISO_8859_1), lines) : "";
    }

    private static String lastLines(String text, int count) {
        String[] lines = text.split("\n");
        return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - count), lines.length));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
