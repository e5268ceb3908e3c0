package io.avance.xen;

import io.avance.xen.libxl.LibC;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Marks every open descriptor of this process close-on-exec before libxl forks a helper.
 *
 * <p>Why: libxl forks and execs {@code libxl-save-helper} for every save, restore and
 * migration (and hotplug scripts for devices), and the child keeps every descriptor that is not
 * close-on-exec. The JDK opens its sockets and files without {@code FD_CLOEXEC} (its own process
 * launcher closes them instead), so without this a helper inherits the engine's connections:
 * closing a socket in Java then does not close the connection, because the helper still holds
 * it, and a migration whose peer hung up blocks for ever (seen in the Xen test stage). libxl
 * itself clears the flag on the descriptors it means to pass (the stream's), in the child.
 *
 * <p>A descriptor opened by another thread between this sweep and libxl's fork can still leak;
 * the sweep runs right before each libxl call that may fork, which makes that window small.
 * Stateless; thread-safe.
 */
final class CloseOnExec {

    private static final Logger LOG = System.getLogger(CloseOnExec.class.getName());
    private static final int FD_CLOEXEC = 1;
    private static final Path FDS = Paths.get("/proc/self/fd");

    private CloseOnExec() {
    }

    /**
     * Sets {@code FD_CLOEXEC} on every descriptor above standard error.
     *
     * @param c libc
     * @return how many descriptors were marked
     */
    static int markAll(LibC c) {
        int marked = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
            for (Path entry : fds) {
                int fd;
                try {
                    fd = Integer.parseInt(entry.getFileName().toString());
                } catch (NumberFormatException e) {
                    continue;
                }
                // FD_CLOEXEC is the only descriptor flag, so setting it alone loses nothing.
                if (fd > 2 && c.fcntl(fd, LibC.F_SETFD, FD_CLOEXEC) == 0) {
                    marked++;
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list /proc/self/fd to mark descriptors close-on-exec: {0}",
                    e.getMessage());
        }
        return marked;
    }
}
