package io.avance.core.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PhiAccrualDetectorTest {

    private static final long MS = 1_000_000L;

    /** When a detector fed these heartbeats first reaches phi 8 after the last one. */
    private static long suspicionDelay(PhiAccrualDetector detector, long lastArrival) {
        for (long wait = 0; wait < 10_000 * MS; wait += MS) {
            if (detector.suspects(lastArrival + wait, 8.0)) {
                return wait;
            }
        }
        throw new AssertionError("never suspected");
    }

    @Test
    void regularHeartbeatsAreSuspectedSoonAfterTheyStop() {
        PhiAccrualDetector detector = new PhiAccrualDetector(100, 100 * MS, 25 * MS, 0);
        long now = 0;
        for (int i = 0; i < 100; i++) {
            detector.heartbeat(now);
            now += 100 * MS;
        }
        long last = now - 100 * MS;
        assertTrue(detector.phi(last + 100 * MS) < 1, "on time is not suspicious");
        assertFalse(detector.suspects(last + 150 * MS, 8.0));
        long delay = suspicionDelay(detector, last);
        assertTrue(delay > 150 * MS && delay < 300 * MS, "suspected after " + delay / MS + " ms");
    }

    @Test
    void aJitteryPeerIsGivenMoreTime() {
        SplittableRandom random = new SplittableRandom(7);
        PhiAccrualDetector steady = new PhiAccrualDetector(100, 100 * MS, 25 * MS, 0);
        PhiAccrualDetector jittery = new PhiAccrualDetector(100, 100 * MS, 25 * MS, 0);
        long steadyNow = 0;
        long jitteryNow = 0;
        long lastJittery = 0;
        for (int i = 0; i < 100; i++) {
            steady.heartbeat(steadyNow);
            jittery.heartbeat(jitteryNow);
            lastJittery = jitteryNow;
            steadyNow += 100 * MS;
            jitteryNow += 40 * MS + random.nextLong(120 * MS);
        }
        long steadyDelay = suspicionDelay(steady, steadyNow - 100 * MS);
        long jitteryDelay = suspicionDelay(jittery, lastJittery);
        assertTrue(jitteryDelay > steadyDelay, "jittery " + jitteryDelay / MS + " ms, steady " + steadyDelay / MS + " ms");
    }

    @Test
    void nothingHeardMeansMaximalSuspicionAndARestartForgetsTheGap() {
        PhiAccrualDetector detector = new PhiAccrualDetector(10, 100 * MS, 25 * MS, 0);
        assertEquals(Double.POSITIVE_INFINITY, detector.phi(0));
        assertEquals(Long.MAX_VALUE, detector.silenceNanos(0));
        detector.heartbeat(0);
        detector.restart();
        assertFalse(detector.heard());
        detector.heartbeat(60_000 * MS);
        detector.heartbeat(60_100 * MS);
        assertTrue(detector.phi(60_200 * MS) < 1, "the minute-long gap must not count as an interval");
    }

    @Test
    void phiGrowsMonotonicallyWithSilence() {
        double previous = -1;
        for (double elapsed = 0; elapsed < 1000; elapsed += 5) {
            double phi = PhiAccrualDetector.phi(elapsed, 100, 30);
            assertTrue(phi >= previous, "phi fell at " + elapsed);
            previous = phi;
        }
    }
}
