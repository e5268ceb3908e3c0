package io.avance.xen.libxl;

import com.sun.jna.Library;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Keeps libxl's forks away from the Xen libraries' process-wide locks.
 *
 * <p>libxl forks children from inside its calls, and some children run library code before they
 * exec or exit: the child that destroys a domain opens a new libxenctrl handle (taking
 * libxentoolcore's {@code handles_lock}) and makes hypercalls (taking libxencall's buffer
 * {@code cache_mutex}). A child has one thread; if another thread of the JVM held one of those
 * locks at the moment of the fork, the child's copy of the lock stays held for ever, the child
 * hangs, and so does the libxl call waiting for it ({@code libxl_domain_destroy} never returned
 * once in the Xen stage). libxl holds its context lock while it forks, which keeps calls that
 * take that lock out, but not libxenctrl or libxenforeignmemory calls, nor the libxl calls that
 * never take it (domain lists and info, memory queries, names, renames).
 *
 * <p>So every such call, a <em>leaf</em> call that takes no lock a forking thread may hold, runs
 * under the read side of one process-wide lock, and a fork handler registered with glibc takes
 * the write side before every {@code fork()} in the process and gives it back in the parent
 * after it: no leaf call is inside a Xen library while a child is being made. Leaf calls never
 * fork and never wait for libxl's context lock, so a forking thread never waits for a thread
 * that waits for it. The handler must run before libxl's own (which takes libxl's
 * {@code no_forking} lock, also taken by libxl calls): glibc runs the prepare handlers
 * last-registered first, so {@link #install} is called after the first libxl context exists.
 *
 * <p>The JVM's own process launches use {@code posix_spawn}, which runs no fork handlers.
 */
public final class ForkGuard {

    private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();
    private static final AtomicLong FORKS = new AtomicLong();
    /** Held for ever once installed: glibc keeps pointers to them. */
    private static final LibC.ForkHandler PREPARE = ForkGuard::beforeFork;
    private static final LibC.ForkHandler PARENT = ForkGuard::afterForkInParent;

    private ForkGuard() {
    }

    /**
     * Registers the fork handlers with glibc, once per process; later calls do nothing.
     *
     * @param c libc
     * @throws IllegalStateException if glibc refuses them
     */
    public static void install(LibC c) {
        if (INSTALLED.get()) {
            return;
        }
        synchronized (INSTALLED) {
            if (INSTALLED.get()) {
                return;
            }
            int rc = c.__register_atfork(PREPARE, PARENT, null, null);
            if (rc != 0) {
                throw new IllegalStateException("cannot register the fork handlers with glibc: error " + rc);
            }
            INSTALLED.set(true);
        }
    }

    /** @return whether {@link #install} has registered the handlers */
    public static boolean installed() {
        return INSTALLED.get();
    }

    /** @return how many forks the handlers have seen in this process */
    public static long forks() {
        return FORKS.get();
    }

    /** The prepare handler: waits until no leaf call is inside a Xen library, and keeps new ones out. */
    static void beforeFork() {
        LOCK.writeLock().lock();
    }

    /** The parent's handler: lets leaf calls in again. */
    static void afterForkInParent() {
        FORKS.incrementAndGet();
        LOCK.writeLock().unlock();
    }

    /**
     * Wraps a loaded library so that the named calls (every call, if {@code leafCalls} is null)
     * run as leaf calls.
     *
     * @param type      the library's interface
     * @param library   the library as JNA loaded it
     * @param leafCalls the names of the leaf calls, or null for all
     * @param <T>       the interface
     * @return the wrapped library
     */
    static <T extends Library> T guard(Class<T> type, T library, Set<String> leafCalls) {
        InvocationHandler handler = (proxy, method, arguments) -> {
            if (method.getDeclaringClass() == Object.class) {
                return invoke(method, library, arguments);
            }
            if (leafCalls != null && !leafCalls.contains(method.getName())) {
                return invoke(method, library, arguments);
            }
            LOCK.readLock().lock();
            try {
                return invoke(method, library, arguments);
            } finally {
                LOCK.readLock().unlock();
            }
        };
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static Object invoke(Method method, Object target, Object[] arguments) throws Throwable {
        try {
            return method.invoke(target, arguments);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** For tests: whether a thread waits for the lock. */
    static boolean queued(Thread thread) {
        return LOCK.hasQueuedThread(thread);
    }

    /** For tests: whether a leaf call or a fork holds the lock now. */
    static boolean busy() {
        return LOCK.isWriteLocked() || LOCK.getReadLockCount() > 0;
    }
}
