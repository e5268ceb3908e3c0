package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.xen.libxl.LibC;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/** The sweep leaves no descriptor of the JVM for a forked helper to inherit. */
class CloseOnExecTest {

    private static final int F_GETFD = 1;

    @Test
    void marksTheJdksOwnSocketsCloseOnExec() throws Exception {
        try (ServerSocketChannel socket = ServerSocketChannel.open()) {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int marked = CloseOnExec.markAll(LibC.INSTANCE);
            assertTrue(marked > 0);
            int open = 0;
            try (var fds = Files.newDirectoryStream(Paths.get("/proc/self/fd"))) {
                for (Path entry : fds) {
                    int fd = Integer.parseInt(entry.getFileName().toString());
                    int flags = LibC.INSTANCE.fcntl(fd, F_GETFD, 0);
                    if (fd > 2 && flags >= 0 && !Files.isDirectory(entry)) {
                        open++;
                        // The directory stream's own descriptor was opened after the sweep.
                        if (!Files.readSymbolicLink(entry).toString().startsWith("/proc")) {
                            assertEquals(1, flags & 1, "fd " + fd + " -> " + Files.readSymbolicLink(entry));
                        }
                    }
                }
            }
            assertTrue(open > 0);
        }
    }
}
