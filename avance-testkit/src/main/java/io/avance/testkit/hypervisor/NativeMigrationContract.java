package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmState;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Migration through the hypervisor's own stream ({@link io.avance.api.hypervisor.NativeMigration}),
 * over a real TCP connection on loopback, for adapters with {@link Capability#NATIVE_MIGRATION};
 * without it the tests are reported as aborted by assumption. The engine's handshake around the
 * stream is played by the test: the target stays paused until it is resumed, the source is
 * finished after.
 */
public abstract class NativeMigrationContract extends HypervisorContractSupport {

    @BeforeEach
    void requireNativeMigration() {
        assumeCapability(Capability.NATIVE_MIGRATION);
    }

    /** The stream moves the guest: the target is paused until resumed, then runs the same guest. */
    @Test
    void aNativeMigrationMovesTheGuestWithItsState() throws Exception {
        HypervisorAdapter source = adapter();
        HypervisorAdapter target = peerAdapter();
        String vm = startNewVm(source, "native");
        underTest().exerciseGuest(source, vm);
        try (Connection connection = Connection.open()) {
            FutureTask<Void> send = background("tck-native-send", () -> {
                source.nativeMigration().send(vm, connection.out);
                return null;
            });
            VmInfo received = target.nativeMigration().receive(spec(vm), connection.in);
            await(send);
            assertEquals(VmState.PAUSED, received.state(), "receive leaves the VM paused");
            assertEquals(VmState.PAUSED, info(target, vm).state(), "the target before the engine resumes it");
            assertNotEquals(VmState.RUNNING, info(source, vm).state(),
                    "after send the source must not run: two copies would");
            Optional<String> before = underTest().guestState(source, vm);
            target.resume(vm);
            awaitState(target, vm, VmState.RUNNING);
            awaitAlive(target, vm);
            if (before.isPresent()) {
                assertEquals(before, underTest().guestState(target, vm), "the guest's state on the target");
            }
            source.nativeMigration().finishSource(vm, true);
            assertTrue(source.info(vm).map(VmInfo::state).map(s -> !s.active()).orElse(true),
                    () -> "the finished source still holds resources: " + source.info(vm));
            awaitAlive(target, vm);
        }
    }

    /** A stream that breaks fails the send with HypervisorException; the VM keeps running here. */
    @Test
    void aBrokenStreamLeavesTheSourceRunning() throws Exception {
        HypervisorAdapter source = adapter();
        String vm = startNewVm(source, "nativebreak");
        try (Connection connection = Connection.open()) {
            connection.in.close();
            try {
                source.nativeMigration().send(vm, connection.out);
                throw new AssertionError("send into a closed connection succeeded");
            } catch (HypervisorException expected) {
                // what the SPI promises
            }
        }
        awaitState(source, vm, VmState.RUNNING);
        awaitAlive(source, vm);
    }

    /** When the target does not take over, finishing the source resumes it. */
    @Test
    void finishingASourceThatWasNotMigratedResumesIt() throws Exception {
        HypervisorAdapter source = adapter();
        String vm = startNewVm(source, "nativeback");
        try (Connection connection = Connection.open()) {
            FutureTask<Long> drain = background("tck-native-drain", () -> {
                ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                long total = 0;
                int read;
                while ((read = connection.in.read(buffer)) >= 0) {
                    total += read;
                    buffer.clear();
                }
                return total;
            });
            source.nativeMigration().send(vm, connection.out);
            assertNotEquals(VmState.RUNNING, info(source, vm).state(), "after send the source must not run");
            connection.out.close();
            assertTrue(await(drain) > 0, "send wrote nothing");
            source.nativeMigration().finishSource(vm, false);
            awaitState(source, vm, VmState.RUNNING);
            awaitAlive(source, vm);
        }
    }

    private <T> FutureTask<T> background(String name, Callable<T> body) {
        FutureTask<T> task = new FutureTask<>(body);
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        thread.start();
        return task;
    }

    private <T> T await(FutureTask<T> task) throws InterruptedException {
        try {
            return task.get(bootTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("the other end of the stream failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            task.cancel(true);
            throw new AssertionError("the other end of the stream did not finish within " + bootTimeout(), e);
        }
    }

    /** Both ends of one loopback TCP connection. */
    private static final class Connection implements AutoCloseable {
        final SocketChannel out;
        final SocketChannel in;

        private Connection(SocketChannel out, SocketChannel in) {
            this.out = out;
            this.in = in;
        }

        static Connection open() throws IOException {
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                SocketChannel out = SocketChannel.open(server.getLocalAddress());
                return new Connection(out, server.accept());
            }
        }

        @Override
        public void close() throws IOException {
            try {
                out.close();
            } finally {
                in.close();
            }
        }
    }
}
