package io.avance.core.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PauseMonitorTest {

    @Test
    void measuresGapsBetweenCyclesAndTheFreezeInProgress() {
        PauseMonitor monitor = new PauseMonitor(990);
        assertEquals(10, monitor.onCycle(1_000));
        assertEquals(20, monitor.onCycle(1_020));
        assertEquals(500, monitor.frozenNanos(1_520), "a freeze in progress counts before the next cycle");
        assertEquals(700, monitor.onCycle(1_720));
        assertEquals(700, monitor.lastGapNanos());
        assertEquals(700, monitor.longestGapNanos());
        assertEquals(20, monitor.onCycle(1_740));
        assertEquals(700, monitor.longestGapNanos());
    }

    @Test
    void aFreezeBeforeTheFirstCycleCountsFromCreation() {
        PauseMonitor monitor = new PauseMonitor(1_000);
        assertEquals(900, monitor.frozenNanos(1_900), "frozen since it was created");
        assertEquals(937, monitor.onCycle(1_937));
    }
}
