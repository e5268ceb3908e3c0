package io.avance.xen.libxl;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The few libc functions the binding needs: {@code free} for strings libxl allocates, stdio
 * streams for the toolstack logger, pipes and {@code poll} for the event loop and migration
 * streams.
 *
 * <p>Errors are read with {@link Native#getLastError()}, which JNA preserves per thread right
 * after each call.
 */
public interface LibC extends Library {

    /** {@code O_CLOEXEC}: the descriptor is not inherited by {@code libxl-save-helper} or others. */
    int O_CLOEXEC = 0x80000;
    /** {@code O_NONBLOCK}. */
    int O_NONBLOCK = 0x800;
    /** {@code POLLIN}. */
    short POLLIN = 0x1;
    /** {@code EAGAIN}. */
    int EAGAIN = 11;
    /** {@code EINTR}. */
    int EINTR = 4;
    /** {@code F_SETFD}. */
    int F_SETFD = 2;
    /** {@code F_GETFL}. */
    int F_GETFL = 3;
    /** {@code F_SETFL}. */
    int F_SETFL = 4;

    /** Loaded once; libc is always present. */
    LibC INSTANCE = Native.load("c", LibC.class);

    void free(Pointer pointer);

    Pointer fopen(String path, String mode);

    int fflush(Pointer stream);

    int fclose(Pointer stream);

    int pipe2(int[] fds, int flags);

    NativeLong read(int fd, Pointer buffer, NativeLong count);

    NativeLong write(int fd, Pointer buffer, NativeLong count);

    int close(int fd);

    int fcntl(int fd, int command, int argument);

    /**
     * {@code poll(struct pollfd *fds, nfds_t nfds, int timeout)}.
     *
     * @param fds     an array of 8-byte {@code struct pollfd}
     * @param count   entries in {@code fds}
     * @param timeoutMillis negative for no timeout
     * @return the number of ready entries, 0 on timeout, -1 on error
     */
    int poll(Pointer fds, NativeLong count, int timeoutMillis);

    String strerror(int errno);

    /**
     * {@code __register_atfork(prepare, parent, child, dso_handle)}: what {@code pthread_atfork}
     * calls (glibc exports {@code pthread_atfork} itself only under an old symbol version, and
     * links it statically into programs). A null {@code dso_handle} keeps the handlers for the
     * life of the process.
     *
     * @param prepare run in the forking thread before the fork, or null
     * @param parent  run in the parent after it, or null
     * @param child   run in the child, or null
     * @param dso     null
     * @return 0, or an error number
     */
    int __register_atfork(ForkHandler prepare, ForkHandler parent, ForkHandler child, Pointer dso);

    /** A fork handler: called by glibc on the thread that calls {@code fork()}. */
    interface ForkHandler extends com.sun.jna.Callback {
        /** Runs the handler. */
        void invoke();
    }
}
