package io.avance.xen;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import io.avance.xen.libxl.LibC;
import io.avance.xen.libxl.NativeLayout;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.function.BooleanSupplier;

/**
 * Carries libxl's migration stream between a pipe that libxl (its {@code libxl-save-helper})
 * reads or writes and the engine's channel, in frames that make the stream self-delimiting.
 *
 * <pre>
 *   frame  := length:int32 (big-endian) payload[length]     length 1..MAX_FRAME_BYTES
 *   end    := 0:int32                                       the stream is complete
 *   abort  := -1:int32                                      the sender failed; discard
 * </pre>
 *
 * <p>Why frames: libxl needs a file descriptor, and the engine gives a Java channel, so bytes
 * pass through a pipe; and the engine runs its own handshake on the same connection after the
 * stream, so the receiver must stop exactly at the stream's end without relying on EOF.
 *
 * <p>The sending pump does not rely on EOF either: a concurrent migration's helper process can
 * inherit the write end of our pipe, which would hold EOF off. Instead it stops when libxl has
 * returned (all data is then in the pipe) and the pipe is empty. Stateless; each pump runs on
 * one thread.
 */
final class MigrationStream {

    /** The largest payload of one frame. */
    static final int MAX_FRAME_BYTES = 1 << 20;
    /** What one pump reads from its pipe at a time. */
    private static final int CHUNK_BYTES = 256 * 1024;
    private static final int END = 0;
    private static final int ABORT = -1;
    private static final int POLL_MILLIS = 100;

    private MigrationStream() {
    }

    /**
     * Copies what libxl writes into a pipe to the channel as frames, until libxl is done and
     * the pipe is drained (or at EOF). Writes no end marker: see {@link #writeEnd}. If the
     * channel fails, the rest of the stream is read and dropped until libxl is done, and the
     * channel's failure is thrown then: the pipe's read end is never closed under libxl.
     *
     * @param c         libc
     * @param readFd    the pipe's read end, non-blocking; closed on return
     * @param out       the engine's channel
     * @param libxlDone true once libxl has returned
     * @return the payload bytes copied
     * @throws IOException if the channel failed (after libxl is done)
     */
    static long pumpToChannel(LibC c, int readFd, WritableByteChannel out, BooleanSupplier libxlDone)
            throws IOException {
        Memory buffer = new Memory(CHUNK_BYTES);
        Memory poll = new Memory(NativeLayout.POLLFD_SIZE);
        ByteBuffer header = ByteBuffer.allocate(4);
        long total = 0;
        IOException channelFailure = null;
        try {
            while (true) {
                // Read "done" before reading the pipe: if it was set, everything libxl wrote is
                // already in the pipe, so an empty pipe then means the end.
                boolean done = libxlDone.getAsBoolean();
                long n = c.read(readFd, buffer, new NativeLong(CHUNK_BYTES)).longValue();
                if (n > 0) {
                    if (channelFailure == null) {
                        try {
                            header.clear();
                            header.putInt((int) n).flip();
                            writeFully(out, header);
                            writeFully(out, buffer.getByteBuffer(0, n));
                            total += n;
                        } catch (IOException e) {
                            // Keep reading and discarding: libxl must never see EPIPE on the
                            // stream. Its own writes of the stream's records fail into an
                            // error path that crashed the process (a NULL callback in
                            // libxenlight, seen in the Xen stage); a drained pipe lets the save
                            // finish, and the caller then resumes the guest.
                            channelFailure = e;
                        }
                    }
                    continue;
                }
                if (n == 0) {
                    break;
                }
                int errno = Native.getLastError();
                if (errno == LibC.EINTR) {
                    continue;
                }
                if (errno != LibC.EAGAIN) {
                    throw new IOException("reading libxl's stream from its pipe failed: " + c.strerror(errno));
                }
                if (done) {
                    break;
                }
                poll.setInt(0, readFd);
                poll.setShort(NativeLayout.POLLFD_EVENTS, LibC.POLLIN);
                poll.setShort(NativeLayout.POLLFD_REVENTS, (short) 0);
                c.poll(poll, new NativeLong(1), POLL_MILLIS);
            }
        } finally {
            c.close(readFd);
        }
        if (channelFailure != null) {
            throw channelFailure;
        }
        return total;
    }

    /**
     * Ends the stream.
     *
     * @param out     the channel
     * @param success true for the end marker, false for abort
     * @throws IOException if the channel fails
     */
    static void writeEnd(WritableByteChannel out, boolean success) throws IOException {
        ByteBuffer marker = ByteBuffer.allocate(4);
        marker.putInt(success ? END : ABORT).flip();
        writeFully(out, marker);
    }

    /**
     * Reads frames until the stream's first bytes show that libxl may be handed it: libxl 4.17
     * crashes the process when its stream fails before its save helper has started (see
     * {@link LibxlStreamCheck}), so a sender that failed at once, hung up, or sent something
     * else is refused here, before libxl is called.
     *
     * @param in    the engine's channel
     * @param check the check the rest of the stream goes on through
     * @return the payload bytes read, at least the libxl header and its first record
     * @throws IOException if the stream ends, aborts or is malformed before that
     */
    static ByteBuffer readPrefix(ReadableByteChannel in, LibxlStreamCheck check) throws IOException {
        ByteBuffer prefix = ByteBuffer.allocate(0);
        ByteBuffer header = ByteBuffer.allocate(4);
        while (!check.libxlMayRead()) {
            header.clear();
            readFully(in, header);
            int length = header.flip().getInt();
            if (length == END) {
                throw new IOException("the migration stream ended after " + prefix.remaining()
                        + " bytes, before libxl's stream header and first record");
            }
            if (length == ABORT) {
                throw new IOException("the sender aborted the migration stream after " + prefix.remaining()
                        + " bytes, before it started");
            }
            if (length < 0 || length > MAX_FRAME_BYTES) {
                throw new IOException("malformed migration stream: frame length " + length + " after "
                        + prefix.remaining() + " bytes");
            }
            ByteBuffer frame = ByteBuffer.allocate(length);
            readFully(in, frame);
            frame.flip();
            check.accept(frame.duplicate());
            ByteBuffer joined = ByteBuffer.allocate(prefix.remaining() + length);
            joined.put(prefix).put(frame).flip();
            prefix = joined;
        }
        return prefix;
    }

    /**
     * Copies the stream into the pipe libxl reads: first what {@link #readPrefix} read, then
     * frames from the channel up to the end marker, each checked before libxl sees a byte of it.
     *
     * @param c       libc
     * @param in      the engine's channel
     * @param writeFd the pipe's write end (blocking); closed on return, so libxl sees EOF
     * @param check   the check that accepted the prefix
     * @param prefix  the bytes {@link #readPrefix} returned
     * @return the payload bytes copied, the prefix included
     * @throws IOException if the channel fails or ends early, a frame or the libxl stream is
     *                     malformed, the sender aborted, or libxl stopped reading
     */
    static long pumpFromChannel(LibC c, ReadableByteChannel in, int writeFd, LibxlStreamCheck check,
            ByteBuffer prefix) throws IOException {
        Memory buffer = new Memory(Math.max(MAX_FRAME_BYTES, prefix.remaining()));
        ByteBuffer header = ByteBuffer.allocate(4);
        long total = 0;
        try {
            int first = prefix.remaining();
            buffer.getByteBuffer(0, first).put(prefix.duplicate());
            writeAll(c, writeFd, buffer, first);
            total += first;
            while (true) {
                header.clear();
                readFully(in, header);
                int length = header.flip().getInt();
                if (length == END) {
                    if (!check.complete()) {
                        throw new IOException("the migration stream ended after " + total + " bytes, in "
                                + check.section() + " of libxl's stream");
                    }
                    return total;
                }
                if (length == ABORT) {
                    throw new IOException("the sender aborted the migration stream after " + total + " bytes");
                }
                if (length < 0 || length > MAX_FRAME_BYTES) {
                    throw new IOException("malformed migration stream: frame length " + length + " after " + total
                            + " bytes");
                }
                ByteBuffer frame = buffer.getByteBuffer(0, length);
                readFully(in, frame);
                frame.flip();
                check.accept(frame);
                writeAll(c, writeFd, buffer, length);
                total += length;
            }
        } finally {
            c.close(writeFd);
        }
    }

    private static void writeAll(LibC c, int fd, Pointer data, int length) throws IOException {
        long offset = 0;
        while (offset < length) {
            long n = c.write(fd, data.share(offset), new NativeLong(length - offset)).longValue();
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == LibC.EINTR) {
                    continue;
                }
                throw new IOException("libxl stopped reading the migration stream: " + c.strerror(errno));
            }
            offset += n;
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            out.write(data);
        }
    }

    private static void readFully(ReadableByteChannel in, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (in.read(into) < 0) {
                throw new EOFException("the migration stream ended before its end marker");
            }
        }
    }
}
