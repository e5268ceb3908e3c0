package io.avance.core.pair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IncarnationsTest {

    private static final long DECEMBER_2026 = 1_796_601_600_000L;

    @Test
    void aLaterStartHasALaterIncarnationWhateverItsRandomBits() {
        long earlier = Incarnations.next(0, DECEMBER_2026, 0xFFFFF);
        long later = Incarnations.next(0, DECEMBER_2026 + 1, 0);
        assertTrue(later > earlier, earlier + " then " + later);
        assertTrue(earlier > 0 && (earlier & 1) == 1 && (later & 1) == 1);
    }

    @Test
    void aProcessNeverGoesBackEvenWhenItsClockDoes() {
        long first = Incarnations.next(0, DECEMBER_2026, 12345);
        long afterClockStep = Incarnations.next(first, DECEMBER_2026 - 3_600_000, 777);
        assertTrue(afterClockStep > first);
        assertEquals(first + 2, afterClockStep, "the next odd number above the previous run");
    }

    @Test
    void theRandomBitsSeparateTwoStartsInTheSameMillisecond() {
        assertTrue(Incarnations.next(0, DECEMBER_2026, 1) != Incarnations.next(0, DECEMBER_2026, 2 << 1));
    }
}
