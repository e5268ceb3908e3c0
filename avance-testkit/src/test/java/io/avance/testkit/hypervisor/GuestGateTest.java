package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The pause gate: a pause waits for work inside, holds new work back, and a stop fails it. */
class GuestGateTest {

    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @Test
    void aPauseWaitsForTheWorkInsideAndGivesUpAtItsDeadline() throws Exception {
        GuestGate gate = new GuestGate();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        CompletableFuture<Void> work = CompletableFuture.runAsync(() -> {
            gate.enter();
            try {
                inside.countDown();
                leave.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                gate.exit();
            }
        });
        assertTrue(inside.await(DEADLINE.toSeconds(), TimeUnit.SECONDS));
        assertFalse(gate.close(Duration.ofMillis(50)), "work is still inside");
        assertFalse(gate.isClosed(), "a pause that failed leaves the guest running");
        CompletableFuture<Boolean> pause = CompletableFuture.supplyAsync(() -> gate.close(DEADLINE));
        HypervisorContractSupport.awaitTrue(gate::isClosed, DEADLINE, () -> "the gate does not close");
        assertFalse(pause.isDone(), "the pause returned while work was inside");
        leave.countDown();
        assertTrue(pause.get(DEADLINE.toSeconds(), TimeUnit.SECONDS));
        work.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertEquals(0, gate.inside());
    }

    @Test
    void workWaitsWhilePausedAndRunsAfterResume() throws Exception {
        GuestGate gate = new GuestGate();
        assertTrue(gate.close(DEADLINE));
        Thread[] worker = new Thread[1];
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Void> work = CompletableFuture.runAsync(() -> {
            worker[0] = Thread.currentThread();
            started.countDown();
            gate.enter();
            gate.exit();
        });
        assertTrue(started.await(DEADLINE.toSeconds(), TimeUnit.SECONDS));
        HypervisorContractSupport.awaitTrue(() -> worker[0].getState() == Thread.State.WAITING || work.isDone(),
                DEADLINE, () -> "the worker neither waits nor finishes");
        assertFalse(work.isDone(), "work entered a closed gate");
        gate.open();
        work.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void aStopFailsWaitingAndLaterWork() throws Exception {
        GuestGate gate = new GuestGate();
        assertTrue(gate.close(DEADLINE));
        CompletableFuture<Void> work = CompletableFuture.runAsync(gate::enter);
        assertTrue(gate.stop(DEADLINE));
        java.util.concurrent.ExecutionException failed = assertThrows(java.util.concurrent.ExecutionException.class,
                () -> work.get(DEADLINE.toSeconds(), TimeUnit.SECONDS));
        assertTrue(failed.getCause() instanceof GuestGate.GuestStoppedException, failed.toString());
        assertThrows(GuestGate.GuestStoppedException.class, gate::enter);
        assertThrows(GuestGate.GuestStoppedException.class, () -> gate.close(DEADLINE));
    }
}
