package io.avance.xen.libxl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Library;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The fork guard's rule with real threads: a fork waits for the leaf calls inside a Xen library,
 * leaf calls wait while a child is being made, other calls never wait. (That glibc calls the
 * handlers on libxl's forks is checked in dom0 by {@code XenLifecycleInDom0}.)
 */
class ForkGuardTest {

    /** A library with one leaf call and one other call. */
    interface Library2 extends Library {
        int leaf();

        int other();
    }

    /** Its calls block until released, and count who got in. */
    static final class Blocking implements Library2 {
        final AtomicInteger entered = new AtomicInteger();
        final CountDownLatch inside = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public int leaf() {
            entered.incrementAndGet();
            inside.countDown();
            await(release);
            return 1;
        }

        @Override
        public int other() {
            return 2;
        }
    }

    @Test
    void glibcTakesTheHandlers() {
        ForkGuard.install(LibC.INSTANCE);
        ForkGuard.install(LibC.INSTANCE);
        assertTrue(ForkGuard.installed());
    }

    @Test
    void aForkWaitsForTheLeafCallInsideAndLeafCallsWaitForTheFork() throws Exception {
        Blocking blocking = new Blocking();
        Library2 guarded = ForkGuard.guard(Library2.class, blocking, Set.of("leaf"));
        CompletableFuture<Integer> firstLeaf = CompletableFuture.supplyAsync(guarded::leaf);
        await(blocking.inside);

        CountDownLatch forked = new CountDownLatch(1);
        CountDownLatch finishFork = new CountDownLatch(1);
        Thread forker = new Thread(() -> {
            ForkGuard.beforeFork();
            forked.countDown();
            await(finishFork);
            ForkGuard.afterForkInParent();
        }, "forker");
        forker.start();
        awaitQueued(forker);
        assertEquals(1, forked.getCount(), "the fork went ahead with a leaf call inside a library");

        blocking.release.countDown();
        assertEquals(1, firstLeaf.get(10, TimeUnit.SECONDS));
        await(forked);

        // A child is being made: other calls go on, leaf calls wait.
        assertEquals(2, guarded.other());
        Thread secondLeaf = new Thread(guarded::leaf, "second leaf");
        secondLeaf.start();
        awaitQueued(secondLeaf);
        assertEquals(1, blocking.entered.get(), "a leaf call went in while a child was being made");

        long forks = ForkGuard.forks();
        finishFork.countDown();
        forker.join(10_000);
        secondLeaf.join(10_000);
        assertEquals(2, blocking.entered.get());
        assertEquals(forks + 1, ForkGuard.forks());
        assertTrue(!ForkGuard.busy(), "the lock is free again");
    }

    /** Waits until a thread is queued on the guard's lock (it parks there, and stays). */
    private static void awaitQueued(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!ForkGuard.queued(thread)) {
            assertTrue(System.nanoTime() < deadline, thread.getName() + " never queued on the guard");
            assertTrue(thread.isAlive(), thread.getName() + " ended instead of waiting");
            Thread.onSpinWait();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS), "not released within 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
