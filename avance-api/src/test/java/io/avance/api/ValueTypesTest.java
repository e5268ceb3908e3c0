package io.avance.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.failover.PairTimings;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.replication.DataState;
import io.avance.api.replication.VolumeSpec;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ValueTypesTest {

    @Test
    void healthScoresWeighFaultsAndCompareWithAMargin() {
        Fault psu = Fault.of(Component.POWER_SUPPLY, "psu1", Severity.MAJOR, "no output");
        Fault fan = Fault.predicted(Component.FAN, "fan1", Severity.MINOR, "slowing");
        HealthScore score = HealthScore.of(List.of(fan, psu));
        assertEquals(HealthScore.MAX - 100 - 5, score.value());
        assertEquals(psu, score.faults().get(0), "heaviest first");
        assertTrue(HealthScore.perfect().isHealthierThan(score, 50));
        assertFalse(HealthScore.perfect().isHealthierThan(HealthScore.of(List.of(fan)), 50), "inside the margin");
        assertEquals(0, HealthScore.of(List.of(Fault.of(Component.DISK, "a", Severity.CRITICAL, ""),
                Fault.of(Component.DISK, "b", Severity.CRITICAL, ""), Fault.of(Component.DISK, "c", Severity.CRITICAL, "")))
                .value(), "floored at zero");
        assertThrows(IllegalArgumentException.class, () -> HealthScore.of(List.of(psu, psu)));
        assertThrows(IllegalArgumentException.class, () -> score.isHealthierThan(score, -1));
    }

    @Test
    void oneCriticalFaultOutweighsFourMajorOnes() {
        HealthScore critical = HealthScore.of(List.of(Fault.of(Component.DISK, "sda", Severity.CRITICAL, "")));
        HealthScore majors = HealthScore.of(List.of(Fault.of(Component.FAN, "1", Severity.MAJOR, ""),
                Fault.of(Component.FAN, "2", Severity.MAJOR, ""), Fault.of(Component.FAN, "3", Severity.MAJOR, ""),
                Fault.of(Component.FAN, "4", Severity.MAJOR, "")));
        assertTrue(majors.isHealthierThan(critical, HealthScore.DEFAULT_MARGIN));
    }

    @Test
    void identifiersAndSpecsRefuseBadValuesNamingThem() {
        assertEquals("node id 'a b' must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit",
                assertThrows(IllegalArgumentException.class, () -> NodeId.of("a b")).getMessage());
        assertTrue(NodeId.of("alpha").compareTo(NodeId.of("beta")) < 0);
        IllegalArgumentException memory = assertThrows(IllegalArgumentException.class, () -> new VmSpec("db", 2,
                1000, List.of(), List.of(), Map.of()));
        assertTrue(memory.getMessage().contains("memory") && memory.getMessage().contains("1000"));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec("db", 2, 1 << 20,
                List.of(new VmSpec.Disk("d", 4096, 1), new VmSpec.Disk("d", 4096, 1)), List.of(), Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new VmSpec.Network("lan", Optional.of("not-a-mac")));
        assertThrows(IllegalArgumentException.class, () -> new VolumeSpec("v", 4096, 3000));
        assertEquals(4096, VolumeSpec.of("v", 1 << 20).bitmapBlockSizeBytes());
    }

    @Test
    void timingsMustKeepTheIsolationRuleSafe() {
        PairTimings defaults = PairTimings.defaults();
        assertEquals(400_000_000L, defaults.isolationDeadlineNanos());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new PairTimings(100, 200, 1000, 10))
                .getMessage().contains("3 heartbeat intervals"));
        assertThrows(IllegalArgumentException.class, () -> new PairTimings(100, 500, 400, 50));
        assertThrows(IllegalArgumentException.class, () -> new PairTimings(100, 500, 1000, 400));
    }

    @Test
    void dataStatesCombineToTheWorst() {
        assertEquals(DataState.OUTDATED, DataState.UP_TO_DATE.worse(DataState.OUTDATED));
        assertTrue(DataState.CONSISTENT.usable());
        assertFalse(DataState.INCONSISTENT.usable());
    }
}
