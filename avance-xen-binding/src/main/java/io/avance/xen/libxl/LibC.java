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
}
