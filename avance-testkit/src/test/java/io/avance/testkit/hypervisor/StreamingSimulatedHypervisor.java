package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.Availability;
import io.avance.api.hypervisor.Capability;
import io.avance.api.hypervisor.HostResources;
import io.avance.api.hypervisor.HypervisorAdapter;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.NativeMigration;
import io.avance.api.hypervisor.PeerFencer;
import io.avance.api.hypervisor.VmEventListener;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.api.migration.MigrationException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The simulated hypervisor with a native migration stream of its own, built from its guest
 * memory and device state: a test double that lets the {@link NativeMigrationContract} run here
 * (the real user of that suite is the Xen binding). Stream: frames of a kind byte, then
 * {@code PAGES firstPage:long count:int data}, {@code ZEROS firstPage:long count:int}, and a final
 * {@code DEVICE length:int state}.
 */
final class StreamingSimulatedHypervisor implements HypervisorAdapter {

    private static final byte PAGES = 1;
    private static final byte ZEROS = 2;
    private static final byte DEVICE = 3;
    private static final int PAGE = GuestRam.PAGE_SIZE;

    private final SimulatedHypervisor delegate;
    private final Map<String, Received> received = new ConcurrentHashMap<>();

    private record Received(IncomingVm incoming, byte[] deviceState) {
    }

    private final boolean nativeOnly;
    private volatile HypervisorContext context;
    private volatile java.util.function.BiConsumer<String, java.net.URI> diskOpener = (vm, uri) -> { };

    StreamingSimulatedHypervisor(SimulatedHypervisor delegate) {
        this(delegate, false);
    }

    /**
     * Opens each disk of a received VM through its attachment before {@code receive} returns, as
     * Xen's toolstack does (libxl attaches the disks after the stream, while the target node is
     * still the backup, and the host reads them as the devices open).
     *
     * @param opener called with the VM's name and each disk's NBD address
     * @return this
     */
    StreamingSimulatedHypervisor openingDisksOnReceive(java.util.function.BiConsumer<String, java.net.URI> opener) {
        this.diskOpener = opener;
        return this;
    }

    /**
     * @param delegate   the simulated hypervisor underneath
     * @param nativeOnly whether to offer only the native stream for migration, as the Xen binding
     *                   does (no device state), so that the engine carries the stream
     */
    StreamingSimulatedHypervisor(SimulatedHypervisor delegate, boolean nativeOnly) {
        this.delegate = delegate;
        this.nativeOnly = nativeOnly;
    }

    SimulatedHypervisor delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return "simulated-streaming";
    }

    @Override
    public Availability probe() {
        return delegate.probe();
    }

    @Override
    public void open(HypervisorContext context) {
        this.context = context;
        delegate.open(context);
    }

    @Override
    public Set<Capability> capabilities() {
        Set<Capability> all = EnumSet.copyOf(delegate.capabilities());
        all.add(Capability.NATIVE_MIGRATION);
        if (nativeOnly) {
            all.remove(Capability.DEVICE_STATE);
        }
        return Collections.unmodifiableSet(all);
    }

    @Override
    public HostResources hostResources() {
        return delegate.hostResources();
    }

    @Override
    public List<VmInfo> list() {
        return delegate.list();
    }

    @Override
    public Optional<VmInfo> info(String vm) {
        return delegate.info(vm);
    }

    @Override
    public void define(VmSpec spec) {
        delegate.define(spec);
    }

    @Override
    public void undefine(String vm) {
        delegate.undefine(vm);
    }

    @Override
    public void start(String vm) {
        delegate.start(vm);
    }

    @Override
    public void shutdown(String vm) {
        delegate.shutdown(vm);
    }

    @Override
    public void destroy(String vm) {
        Received pending = received.remove(vm);
        if (pending != null) {
            pending.incoming().abort();
            return;
        }
        delegate.destroy(vm);
    }

    @Override
    public void reboot(String vm) {
        delegate.reboot(vm);
    }

    @Override
    public void pause(String vm) {
        delegate.pause(vm);
    }

    /** Resumes; a VM received by the stream is activated here, as the engine's handshake allows. */
    @Override
    public void resume(String vm) {
        Received pending = received.remove(vm);
        if (pending == null) {
            delegate.resume(vm);
            return;
        }
        try {
            pending.incoming().activate(pending.deviceState());
        } catch (MigrationException e) {
            throw new HypervisorException("VM " + vm + " received by the stream cannot run: " + e.getMessage(), e);
        }
    }

    @Override
    public AutoCloseable addListener(VmEventListener listener) {
        return delegate.addListener(listener);
    }

    @Override
    public GuestMemory guestMemory(String vm) {
        return delegate.guestMemory(vm);
    }

    @Override
    public byte[] saveDeviceState(String vm) {
        return delegate.saveDeviceState(vm);
    }

    @Override
    public IncomingVm prepareIncoming(VmSpec spec) {
        return delegate.prepareIncoming(spec);
    }

    @Override
    public NativeMigration nativeMigration() {
        return new Stream();
    }

    @Override
    public Optional<PeerFencer> fencer() {
        return delegate.fencer();
    }

    @Override
    public void close() {
        delegate.close();
    }

    private final class Stream implements NativeMigration {

        @Override
        public void send(String vm, WritableByteChannel out) {
            GuestMemory memory = delegate.guestMemory(vm);
            boolean paused = false;
            memory.startDirtyLogging();
            try {
                long[] bitmap = new long[(int) ((memory.pageCount() + 63) / 64)];
                for (int round = 0; round < 10; round++) {
                    java.util.Arrays.fill(bitmap, 0);
                    memory.fetchAndClearDirtyPages(bitmap);
                    sendPages(memory, bitmap, out);
                    if (HypervisorContractSupport.count(bitmap) <= 64) {
                        break;
                    }
                }
                delegate.pause(vm);
                paused = true;
                java.util.Arrays.fill(bitmap, 0);
                memory.fetchAndClearDirtyPages(bitmap);
                sendPages(memory, bitmap, out);
                byte[] state = delegate.saveDeviceState(vm);
                ByteBuffer frame = ByteBuffer.allocate(5 + state.length);
                frame.put(DEVICE).putInt(state.length).put(state).flip();
                writeFully(out, frame);
                memory.stopDirtyLogging();
            } catch (IOException | RuntimeException e) {
                try {
                    memory.stopDirtyLogging();
                    if (paused) {
                        delegate.resume(vm);
                    }
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw new HypervisorException("native migration of VM " + vm + " failed: " + e, e);
            }
        }

        private void sendPages(GuestMemory memory, long[] bitmap, WritableByteChannel out) throws IOException {
            ByteBuffer page = ByteBuffer.allocateDirect(PAGE);
            for (long index = 0; index < memory.pageCount(); index++) {
                if ((bitmap[(int) (index >>> 6)] & (1L << (index & 63))) == 0) {
                    continue;
                }
                page.clear();
                memory.readPages(index, 1, page);
                page.flip();
                boolean zero = true;
                for (int i = 0; i < PAGE && zero; i += 8) {
                    zero = page.getLong(i) == 0;
                }
                ByteBuffer header = ByteBuffer.allocate(13);
                header.put(zero ? ZEROS : PAGES).putLong(index).putInt(1).flip();
                writeFully(out, header);
                if (!zero) {
                    writeFully(out, page);
                }
            }
        }

        @Override
        public VmInfo receive(VmSpec spec, ReadableByteChannel in) {
            IncomingVm incoming = delegate.prepareIncoming(spec);
            try {
                GuestMemory memory = incoming.memory();
                ByteBuffer header = ByteBuffer.allocate(13);
                ByteBuffer data = ByteBuffer.allocateDirect(PAGE);
                while (true) {
                    ByteBuffer kind = ByteBuffer.allocate(1);
                    readFully(in, kind);
                    switch (kind.get(0)) {
                        case PAGES:
                        case ZEROS:
                            header.clear().limit(12);
                            readFully(in, header);
                            long first = header.getLong(0);
                            int count = header.getInt(8);
                            if (kind.get(0) == ZEROS) {
                                memory.zeroPages(first, count);
                            } else {
                                for (int i = 0; i < count; i++) {
                                    data.clear();
                                    readFully(in, data);
                                    data.flip();
                                    memory.writePages(first + i, 1, data);
                                }
                            }
                            break;
                        case DEVICE:
                            ByteBuffer length = ByteBuffer.allocate(4);
                            readFully(in, length);
                            int size = length.getInt(0);
                            if (size < 0 || size > (1 << 20)) {
                                throw new IOException("device state of " + size + " bytes");
                            }
                            ByteBuffer state = ByteBuffer.allocate(size);
                            readFully(in, state);
                            received.put(spec.name(), new Received(incoming, state.array()));
                            for (VmSpec.Disk disk : spec.disks()) {
                                diskOpener.accept(spec.name(), context.attach(disk).nbdUri());
                            }
                            return delegate.info(spec.name()).orElseThrow();
                        default:
                            throw new IOException("unknown frame kind " + kind.get(0));
                    }
                }
            } catch (IOException | RuntimeException e) {
                incoming.abort();
                throw new HypervisorException("receiving VM " + spec.name() + " failed: " + e, e);
            }
        }

        @Override
        public void finishSource(String vm, boolean migrated) {
            if (migrated) {
                delegate.destroy(vm);
            } else {
                delegate.resume(vm);
            }
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static void readFully(ReadableByteChannel in, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (in.read(buffer) < 0) {
                throw new EOFException("the stream ended early");
            }
        }
    }
}
