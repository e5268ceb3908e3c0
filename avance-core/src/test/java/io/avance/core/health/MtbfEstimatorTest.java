package io.avance.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class MtbfEstimatorTest {

    @Test
    void observedTimeOverFailuresInTheWindow() {
        long hour = 3600;
        List<Long> failures = List.of(10 * hour, 20 * hour, 30 * hour, 40 * hour);
        assertEquals(25 * hour, MtbfEstimator.estimate(failures, 0, 100 * hour, 100 * hour, 2));
        // Only the last 35 hours count: two failures in them.
        assertEquals(35 * hour / 2, MtbfEstimator.estimate(failures, 0, 60 * hour, 35 * hour, 2));
    }

    @Test
    void tooFewFailuresOrAYoungNodeAreHandledHonestly() {
        assertEquals(MtbfEstimator.UNKNOWN, MtbfEstimator.estimate(List.of(5L), 0, 100, 100, 2));
        // Watching for 10 units only: two failures mean one per 5 units, not one per 50.
        assertEquals(5, MtbfEstimator.estimate(List.of(92L, 95L), 90, 100, 100, 2));
    }
}
