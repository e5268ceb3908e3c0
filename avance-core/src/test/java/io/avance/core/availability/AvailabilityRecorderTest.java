package io.avance.core.availability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.core.availability.AvailabilityRecorder.Observation;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Outages from observations on a manual clock, persisted across restarts. */
class AvailabilityRecorderTest {

    @TempDir
    Path directory;

    /** A wall clock the test moves. */
    static final class MovingClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration duration) {
            now = now.plus(duration);
        }
    }

    @Test
    void anOutageRunsFromTheLastServingMomentToTheFirstOneAfter() {
        MovingClock clock = new MovingClock();
        AvailabilityRecorder recorder = new AvailabilityRecorder(directory, clock);
        recorder.observe(Observation.SERVING, 1, "");
        clock.advance(Duration.ofDays(10));
        recorder.observe(Observation.SERVING, 1, "");
        clock.advance(Duration.ofMillis(200));
        recorder.observe(Observation.NOT_SERVING, -1, "");
        assertTrue(recorder.inOutage());
        clock.advance(Duration.ofSeconds(2));
        recorder.observe(Observation.UNKNOWN, -1, "");
        AvailabilityRecorder.Outage outage = recorder.observe(Observation.SERVING, 2, "node b took over").orElseThrow();
        assertEquals(Duration.ofMillis(2200), outage.duration());
        assertEquals("node b took over", outage.cause());
        assertFalse(recorder.inOutage());
        double expected = 1.0 - 2.2 / Duration.ofDays(10).plusMillis(2200).toSeconds();
        assertEquals(expected, recorder.availability(Duration.ofDays(30)), 1e-6);
        assertEquals(Duration.ofMillis(2200), recorder.downtime(Duration.ofDays(365)));
    }

    @Test
    void anOutageEndedByThePeerIsTheNodeThatServesToRecord() {
        MovingClock clock = new MovingClock();
        AvailabilityRecorder recorder = new AvailabilityRecorder(directory, clock);
        recorder.observe(Observation.PEER_SERVING, 4, "");
        clock.advance(Duration.ofSeconds(1));
        recorder.observe(Observation.NOT_SERVING, -1, "");
        assertTrue(recorder.inOutage());
        clock.advance(Duration.ofSeconds(1));
        assertTrue(recorder.observe(Observation.PEER_SERVING, 5, "").isEmpty());
        assertFalse(recorder.inOutage());
        assertEquals(0, recorder.outages().size());
    }

    @Test
    void anOutageAcrossARestartOfBothNodesIsMeasuredFromBeforeTheStop() {
        MovingClock clock = new MovingClock();
        AvailabilityRecorder before = new AvailabilityRecorder(directory, clock);
        before.observe(Observation.SERVING, 7, "");
        clock.advance(Duration.ofMinutes(5));
        AvailabilityRecorder after = new AvailabilityRecorder(directory, clock);
        after.observe(Observation.NOT_SERVING, -1, "");
        clock.advance(Duration.ofSeconds(3));
        AvailabilityRecorder.Outage outage = after.observe(Observation.SERVING, 8, "elected").orElseThrow();
        assertEquals(Duration.ofMinutes(5).plusSeconds(3), outage.duration());
        AvailabilityRecorder reread = new AvailabilityRecorder(directory, clock);
        assertEquals(1, reread.outages().size(), "the outage is on disk");
        assertEquals(before.since(), reread.since(), "recording began at the first start");
        // The availability window is cut to the time since recording began.
        assertEquals(1.0 - (5 * 60 + 3) / (5 * 60 + 3.0), reread.availability(Duration.ofDays(30)), 1e-9);
    }
}
