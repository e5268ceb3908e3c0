package io.avance.core.time;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Core logic moves off real time towards a {@link Scheduler}, which the simulation drives; this
 * test counts the real-time waits and timers left in each main source file (sleeps,
 * {@code orTimeout}, timed {@code get}s and {@code await}s, executors' own timers) and allows no
 * file more than its count below. A file that needs fewer must get its lower count here: the
 * list only shrinks. A new file has none.
 */
class RealTimeRatchetTest {

    private static final Pattern REAL_TIME = Pattern.compile("Thread\\.sleep\\(|\\.orTimeout\\(|completeOnTimeout\\("
            + "|\\.schedule\\(|scheduleAtFixedRate\\(|scheduleWithFixedDelay\\(|ScheduledThreadPool"
            + "|ScheduledExecutor\\(|\\.get\\([^()]*,\\s*TimeUnit\\.|\\.await\\([^()]*,\\s*TimeUnit\\."
            + "|awaitTermination\\(|parkNanos\\(|\\.wait\\([^)]");
    private static final Pattern COMMENT = Pattern.compile("^\\s*(\\*|//|/\\*)");

    /** What is left, file by file (2026-12-07: 43 in 21 files, and the real-time scheduler itself). */
    private static final Map<String, Integer> ALLOWED = Map.ofEntries(
            Map.entry("io/avance/core/alert/AlertMailer.java", 4),
            Map.entry("io/avance/core/callhome/CallHome.java", 2),
            Map.entry("io/avance/core/journal/AuditJournal.java", 1),
            Map.entry("io/avance/core/link/HandshakeHandler.java", 1),
            Map.entry("io/avance/core/link/NetworkMonitor.java", 2),
            Map.entry("io/avance/core/link/PrivateLink.java", 1),
            Map.entry("io/avance/core/migration/AbstractOutgoingMigration.java", 1),
            Map.entry("io/avance/core/migration/IncomingMigration.java", 2),
            Map.entry("io/avance/core/migration/IncomingNativeMigration.java", 1),
            Map.entry("io/avance/core/migration/MigrationEngine.java", 1),
            Map.entry("io/avance/core/monitor/EventStream.java", 2),
            Map.entry("io/avance/core/monitor/MonitorServer.java", 2),
            Map.entry("io/avance/core/node/AvanceNode.java", 2),
            Map.entry("io/avance/core/node/NodeAdministration.java", 1),
            Map.entry("io/avance/core/operations/Operations.java", 2),
            Map.entry("io/avance/core/pair/PairAgent.java", 3),
            Map.entry("io/avance/core/replication/ReplicatedVolume.java", 4),
            Map.entry("io/avance/core/replication/VolumeManager.java", 1),
            Map.entry("io/avance/core/time/ExecutorScheduler.java", 1),
            Map.entry("io/avance/core/vip/VirtualAddressAgent.java", 5),
            Map.entry("io/avance/core/vm/VmProvisioning.java", 2),
            Map.entry("io/avance/core/vm/VmSupervisor.java", 2));

    @Test
    void noMainSourceWaitsOnRealTimeMoreThanItsCount() throws IOException {
        Path root = Path.of("src/main/java");
        Map<String, Integer> found = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(path -> path.toString().endsWith(".java")).toList()) {
                int count = 0;
                for (String line : Files.readAllLines(file)) {
                    if (COMMENT.matcher(line).find()) {
                        continue;
                    }
                    Matcher matcher = REAL_TIME.matcher(line);
                    while (matcher.find()) {
                        count++;
                    }
                }
                if (count > 0) {
                    found.put(root.relativize(file).toString().replace('\\', '/'), count);
                }
            }
        }
        assertTrue(found.size() > 10, "the scan found almost nothing: is " + root.toAbsolutePath() + " the sources?");
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Integer> entry : found.entrySet()) {
            int allowed = ALLOWED.getOrDefault(entry.getKey(), 0);
            if (entry.getValue() > allowed) {
                problems.add(entry.getKey() + ": " + entry.getValue() + " real-time waits or timers, " + allowed
                        + " allowed (take a Scheduler instead)");
            }
        }
        for (Map.Entry<String, Integer> entry : ALLOWED.entrySet()) {
            int now = found.getOrDefault(entry.getKey(), 0);
            if (now < entry.getValue()) {
                problems.add(entry.getKey() + ": down to " + now + " from " + entry.getValue()
                        + "; lower its count in RealTimeRatchetTest");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }
}
