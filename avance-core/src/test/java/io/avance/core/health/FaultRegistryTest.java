package io.avance.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.NodeId;
import io.avance.api.event.FaultCleared;
import io.avance.api.event.FaultRaised;
import io.avance.api.event.PairEvent;
import io.avance.api.health.Component;
import io.avance.api.health.Fault;
import io.avance.api.health.HealthScore;
import io.avance.api.health.Severity;
import io.avance.core.time.ManualClock;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultRegistryTest {

    private static final long MINUTE = 60_000_000_000L;

    private final ManualClock clock = new ManualClock();
    private final HealthConfig config = new HealthConfig(60 * MINUTE, 10 * MINUTE, 3, 30 * MINUTE, 3, 16);
    private final FaultRegistry registry = new FaultRegistry(NodeId.of("n"), clock, clock, config);
    private final List<PairEvent> events = new ArrayList<>();

    FaultRegistryTest() {
        registry.addListener(events::add);
    }

    @Test
    void faultsLowerTheScoreAndClearingRestoresIt() {
        registry.raise(Fault.of(Component.POWER_SUPPLY, "psu1", Severity.MAJOR, "no output"));
        registry.raise(Fault.of(Component.FAN, "fan3", Severity.MINOR, "slow"));
        assertEquals(HealthScore.MAX - 110, registry.score().value());
        registry.raise(Fault.of(Component.POWER_SUPPLY, "psu1", Severity.CRITICAL, "both failed"));
        assertEquals(HealthScore.MAX - 510, registry.score().value(), "a fault is replaced, not added again");
        assertTrue(registry.clear(Component.POWER_SUPPLY, "psu1"));
        assertFalse(registry.clear(Component.POWER_SUPPLY, "psu1"));
        assertEquals(HealthScore.MAX - 10, registry.score().value());
        assertTrue(events.get(0) instanceof FaultRaised raised && raised.score() == 900);
        assertTrue(events.get(events.size() - 1) instanceof FaultCleared cleared && cleared.score() == 990);
    }

    @Test
    void aComponentThatKeepsFailingIsPredictedToFailAgain() {
        for (int i = 0; i < 3; i++) {
            registry.raise(Fault.of(Component.DISK, "sdb", Severity.MAJOR, "I/O errors"));
            clock.advance(MINUTE);
            registry.clear(Component.DISK, "sdb");
            clock.advance(MINUTE);
        }
        registry.refresh();
        List<FaultRegistry.ActiveFault> active = registry.activeFaults();
        assertEquals(1, active.size());
        Fault predicted = active.get(0).fault();
        assertTrue(predicted.predicted() && predicted.component() == Component.DISK && active.get(0).derived(),
                predicted.toString());
        assertEquals(HealthScore.MAX - Severity.MAJOR.predictedWeight(), registry.score().value());
        assertTrue(registry.mtbf(Component.DISK, "sdb").isPresent());

        clock.advance(61 * MINUTE);
        registry.refresh();
        assertTrue(registry.activeFaults().isEmpty(), "old failures age out of the window");
    }

    @Test
    void aTrendHeadingForItsLimitIsAPredictedFaultAndCrossingItIsAFault() {
        for (int i = 0; i < 5; i++) {
            registry.recordReading(Component.CPU, "cpu0", 60 + 2 * i, 95, true, Severity.CRITICAL, "°C");
            clock.advance(MINUTE);
        }
        Fault predicted = registry.activeFaults().get(0).fault();
        assertTrue(predicted.predicted(), predicted.toString());
        assertTrue(predicted.description().contains("heading for its limit of 95°C"), predicted.description());
        registry.recordReading(Component.CPU, "cpu0", 96, 95, true, Severity.CRITICAL, "°C");
        Fault actual = registry.activeFaults().get(0).fault();
        assertFalse(actual.predicted());
        assertEquals(HealthScore.MAX - 500, registry.score().value());
    }

    @Test
    void everyActiveFaultIsAGauge() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        HealthMetrics.bind(NodeId.of("n"), registry, meters);
        registry.raise(Fault.of(Component.PUBLIC_NETWORK, "lan", Severity.CRITICAL, "no carrier"));
        assertEquals(500, meters.get("avance.health.score").gauge().value());
        Gauge fault = meters.get("avance.health.fault").tag("location", "lan").gauge();
        assertEquals(500, fault.value());
        registry.clear(Component.PUBLIC_NETWORK, "lan");
        assertTrue(meters.find("avance.health.fault").tag("location", "lan").gauges().isEmpty());
        assertEquals(1000, meters.get("avance.health.score").gauge().value());
    }
}
