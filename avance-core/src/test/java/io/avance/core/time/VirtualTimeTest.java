package io.avance.core.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class VirtualTimeTest {

    private static final long MS = 1_000_000L;

    @Test
    void tasksRunInDueOrderThenSubmissionOrderAtTheirDueTime() {
        VirtualTime time = new VirtualTime();
        Scheduler alpha = time.scheduler("alpha");
        Scheduler beta = time.scheduler("beta");
        List<String> ran = new ArrayList<>();
        alpha.after(30 * MS, () -> ran.add("a30@" + time.now() / MS));
        beta.after(10 * MS, () -> ran.add("b10@" + time.now() / MS));
        alpha.after(10 * MS, () -> ran.add("a10@" + time.now() / MS));
        beta.execute(() -> {
            ran.add("b0@" + time.now() / MS);
            // Submitted by a task, due within the step: it runs in the same call.
            beta.after(5 * MS, () -> ran.add("b5@" + time.now() / MS));
        });
        assertEquals(5, time.runUntil(40 * MS));
        assertEquals(List.of("b0@0", "b5@5", "b10@10", "a10@10", "a30@30"), ran);
        assertEquals(40 * MS, time.now());
    }

    @Test
    void aCancelledTimerNeverRunsAndSaysWhetherItWasPending() {
        VirtualTime time = new VirtualTime();
        Scheduler node = time.scheduler("node");
        List<String> ran = new ArrayList<>();
        Scheduler.Timer timer = node.after(10 * MS, () -> ran.add("late"));
        Scheduler.Timer done = node.after(MS, () -> ran.add("early"));
        time.runUntil(5 * MS);
        assertTrue(timer.cancel());
        assertFalse(done.cancel(), "a task that ran cannot be cancelled");
        time.runUntil(20 * MS);
        assertEquals(List.of("early"), ran);
    }

    @Test
    void aHeldOwnersTimersRunLateAfterItsReleaseAndADroppedOwnersNever() {
        VirtualTime time = new VirtualTime();
        Scheduler frozen = time.scheduler("frozen");
        Scheduler crashed = time.scheduler("crashed");
        Scheduler running = time.scheduler("running");
        List<String> ran = new ArrayList<>();
        frozen.after(10 * MS, () -> ran.add("frozen@" + time.now() / MS));
        crashed.after(10 * MS, () -> ran.add("crashed@" + time.now() / MS));
        running.after(20 * MS, () -> ran.add("running@" + time.now() / MS));
        time.hold("frozen");
        assertEquals(1, time.drop("crashed"));
        time.runUntil(50 * MS);
        assertEquals(List.of("running@20"), ran);
        time.release("frozen");
        time.runReady();
        assertEquals(List.of("running@20", "frozen@50"), ran);
        assertEquals(0, time.pending());
        // A crashed process's leftovers (a callback of a future it left) never run.
        crashed.execute(() -> ran.add("crashed again"));
        time.runUntil(60 * MS);
        assertEquals(List.of("running@20", "frozen@50"), ran);
    }

    @Test
    void timeNeverGoesBack() {
        VirtualTime time = new VirtualTime();
        time.runUntil(10 * MS);
        assertThrows(IllegalArgumentException.class, () -> time.runUntil(5 * MS));
    }
}
