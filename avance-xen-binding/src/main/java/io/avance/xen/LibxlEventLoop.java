package io.avance.xen;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.LibXenLight;
import io.avance.xen.libxl.NativeLayout;
import io.avance.xen.libxl.Timeval;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;

/**
 * The thread that drives libxl's event machinery when no other thread is inside libxl: the
 * {@code libxl_osevent_beforepoll} / {@code poll(2)} / {@code libxl_osevent_afterpoll} loop of
 * {@code libxl_event.h}, with a pipe of our own among the descriptors so that {@link #close()}
 * can wake it.
 *
 * <p>Why this form: libxl produces domain events only while some thread polls its descriptors
 * (the xenstore watch). {@code libxl_event_wait} would do, but cannot be woken to stop, and the
 * context must not be freed while a thread is inside it. Events themselves arrive through the
 * {@code event_occurs} hook registered by {@link XenSession}, on whichever thread is inside
 * libxl at the time, this one or a caller's.
 *
 * <pre>
 *   RUNNING --close()--&gt; STOPPING --loop sees the wake pipe--&gt; STOPPED
 * </pre>
 *
 * Only this thread calls beforepoll and afterpoll (libxl allows one such poller).
 */
final class LibxlEventLoop implements AutoCloseable {

    private static final Logger LOG = System.getLogger(LibxlEventLoop.class.getName());
    /** The longest one poll waits even if libxl has no timeout, so a lost wake-up costs at most this. */
    private static final int MAX_WAIT_MILLIS = 1000;

    private final XenSession session;
    private final LibXenLight light;
    private final LibC c;
    private final Clock wallClock;
    private final int wakeRead;
    private final int wakeWrite;
    private final Thread thread;
    private volatile boolean stopping;

    /**
     * Starts the loop.
     *
     * @param session   the session whose context it drives
     * @param wallClock the time of day libxl's timeouts are computed in
     */
    LibxlEventLoop(XenSession session, Clock wallClock) {
        this.session = session;
        this.light = session.libraries().light();
        this.c = session.libraries().c();
        this.wallClock = wallClock;
        int[] fds = new int[2];
        if (c.pipe2(fds, LibC.O_CLOEXEC | LibC.O_NONBLOCK) != 0) {
            throw new HypervisorException("pipe2 for the libxl event loop failed: "
                    + c.strerror(Native.getLastError()));
        }
        this.wakeRead = fds[0];
        this.wakeWrite = fds[1];
        this.thread = new Thread(this::run, "avance-xen-events");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        int capacity = 16;
        Memory fds = new Memory((long) capacity * NativeLayout.POLLFD_SIZE);
        Memory drain = new Memory(64);
        while (!stopping) {
            try {
                IntByReference count = new IntByReference(capacity - 1);
                IntByReference timeout = new IntByReference(MAX_WAIT_MILLIS);
                int rc = light.libxl_osevent_beforepoll(session.context(), count, fds, timeout,
                        Timeval.ByValue.of(wallClock.instant()));
                if (rc == LibXenLight.ERROR_BUFFERFULL) {
                    capacity = count.getValue() + 8;
                    fds = new Memory((long) capacity * NativeLayout.POLLFD_SIZE);
                    continue;
                }
                int libxlFds = rc == 0 ? count.getValue() : 0;
                if (rc != 0) {
                    LOG.log(Level.ERROR, "libxl_osevent_beforepoll failed: {0}", LibxlErrors.describe(rc));
                }
                long wakeEntry = (long) libxlFds * NativeLayout.POLLFD_SIZE;
                fds.setInt(wakeEntry, wakeRead);
                fds.setShort(wakeEntry + NativeLayout.POLLFD_EVENTS, LibC.POLLIN);
                fds.setShort(wakeEntry + NativeLayout.POLLFD_REVENTS, (short) 0);
                int wait = timeout.getValue() < 0 ? MAX_WAIT_MILLIS : Math.min(timeout.getValue(), MAX_WAIT_MILLIS);
                int ready = c.poll(fds, new NativeLong(libxlFds + 1), wait);
                if (ready < 0 && Native.getLastError() != LibC.EINTR) {
                    LOG.log(Level.ERROR, "poll in the libxl event loop failed: {0}", c.strerror(Native.getLastError()));
                }
                if (rc == 0) {
                    // Runs the I/O and timeouts libxl asked for; domain events are delivered
                    // from here through the event_occurs hook.
                    light.libxl_osevent_afterpoll(session.context(), libxlFds, fds,
                            Timeval.ByValue.of(wallClock.instant()));
                }
                if ((fds.getShort(wakeEntry + NativeLayout.POLLFD_REVENTS) & LibC.POLLIN) != 0) {
                    while (c.read(wakeRead, drain, new NativeLong(drain.size())).longValue() > 0) {
                        // Emptied; the flag says why we were woken.
                    }
                }
            } catch (HypervisorException closed) {
                return;
            } catch (Throwable t) {
                LOG.log(Level.ERROR, "the libxl event loop failed; continuing", t);
            }
        }
    }

    /**
     * Stops the loop and waits for its thread, so that the context can then be freed.
     *
     * @throws HypervisorException if the thread does not stop within 10 s (it is then still
     *                             inside libxl, and the context must not be freed)
     */
    @Override
    public void close() {
        stopping = true;
        Memory one = new Memory(1);
        one.setByte(0, (byte) 1);
        c.write(wakeWrite, one, new NativeLong(1));
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            throw new HypervisorException("the libxl event loop did not stop within 10 s");
        }
        c.close(wakeRead);
        c.close(wakeWrite);
    }
}
