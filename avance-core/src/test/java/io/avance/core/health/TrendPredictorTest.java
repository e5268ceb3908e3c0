package io.avance.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TrendPredictorTest {

    @Test
    void predictsWhenARisingReadingReachesItsLimit() {
        TrendPredictor trend = new TrendPredictor(3, 10);
        for (int minute = 0; minute < 6; minute++) {
            trend.add(minute * 60_000_000_000L, 50 + minute);
        }
        // 55 now, rising 1 per minute: 70 in 15 minutes.
        OptionalLong crossing = trend.nanosUntilCrossing(70, true, 5 * 60_000_000_000L);
        assertTrue(crossing.isPresent());
        assertEquals(15 * 60, crossing.getAsLong() / 1_000_000_000L);
    }

    @Test
    void aFallingFanSpeedIsPredictedAndAFlatOneIsNot() {
        TrendPredictor fan = new TrendPredictor(3, 10);
        TrendPredictor flat = new TrendPredictor(3, 10);
        for (int i = 0; i < 5; i++) {
            fan.add(i * 1_000_000_000L, 3000 - 100 * i);
            flat.add(i * 1_000_000_000L, 3000);
        }
        assertTrue(fan.nanosUntilCrossing(1500, false, 4_000_000_000L).isPresent());
        assertFalse(flat.nanosUntilCrossing(1500, false, 4_000_000_000L).isPresent());
        assertFalse(fan.nanosUntilCrossing(5000, true, 4_000_000_000L).isPresent(), "heading away");
    }

    @Test
    void tooFewSamplesPredictNothing() {
        TrendPredictor trend = new TrendPredictor(5, 10);
        trend.add(0, 1);
        trend.add(1, 2);
        assertFalse(trend.nanosUntilCrossing(3, true, 2).isPresent());
    }
}
