package io.avance.testkit.storage;

import io.avance.core.storage.BlockStore;
import io.avance.core.storage.BlockStoreFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link BlockStoreFactory} of real file stores that can be told to fail, as a dying disk does:
 * from the moment {@link #fail} is called, every read, write and sync of that store throws
 * {@link IOException}; or to hang, as a wedged disk does: from {@link #stall} until
 * {@link #release}, every write and sync of that store blocks (and with {@link #stallReads},
 * every read). Thread-safe.
 *
 * <pre>{@code
 * FailingBlockStores stores = new FailingBlockStores(BlockStoreFactory.files());
 * AvanceNode node = AvanceNode.builder(config).blockStores(stores).build();
 * ...
 * stores.fail("data");   // the volume named "data" now gets I/O errors
 * }</pre>
 */
public final class FailingBlockStores implements BlockStoreFactory {

    private final BlockStoreFactory delegate;
    private final Map<String, FailingStore> stores = new ConcurrentHashMap<>();

    /**
     * Wraps a factory.
     *
     * @param delegate opens the real stores
     */
    public FailingBlockStores(BlockStoreFactory delegate) {
        this.delegate = delegate;
    }

    @Override
    public BlockStore open(Path path, long sizeBytes) throws IOException {
        FailingStore store = new FailingStore(delegate.open(path, sizeBytes));
        stores.put(volumeName(path), store);
        return store;
    }

    /**
     * Makes a volume's store fail from now on.
     *
     * @param volume the volume's name (its file is {@code NAME.img})
     * @throws IllegalArgumentException if no such store was opened
     */
    public void fail(String volume) {
        store(volume).failing = true;
    }

    /**
     * Makes a volume's writes and syncs block until {@link #release} (a hung disk).
     *
     * @param volume the volume's name
     * @throws IllegalArgumentException if no such store was opened
     */
    public void stall(String volume) {
        store(volume).stall.set(new CountDownLatch(1));
    }

    /**
     * Makes a volume's reads block until {@link #release} (a disk that hangs on reads).
     *
     * @param volume the volume's name
     * @throws IllegalArgumentException if no such store was opened
     */
    public void stallReads(String volume) {
        store(volume).readStall.set(new CountDownLatch(1));
    }

    /**
     * Lets a stalled volume's writes go on.
     *
     * @param volume the volume's name
     */
    public void release(String volume) {
        CountDownLatch latch = store(volume).stall.getAndSet(null);
        if (latch != null) {
            latch.countDown();
        }
        CountDownLatch reads = store(volume).readStall.getAndSet(null);
        if (reads != null) {
            reads.countDown();
        }
    }

    private FailingStore store(String volume) {
        FailingStore store = stores.get(volume);
        if (store == null) {
            throw new IllegalArgumentException("no store opened for volume " + volume + "; opened: " + stores.keySet());
        }
        return store;
    }

    private static String volumeName(Path path) {
        String file = path.getFileName().toString();
        return file.endsWith(".img") ? file.substring(0, file.length() - 4) : file;
    }

    private static final class FailingStore implements BlockStore {
        private final BlockStore real;
        private volatile boolean failing;
        private final AtomicReference<CountDownLatch> stall = new AtomicReference<>();
        private final AtomicReference<CountDownLatch> readStall = new AtomicReference<>();

        FailingStore(BlockStore real) {
            this.real = real;
        }

        private void check(String operation, long offset) throws IOException {
            CountDownLatch latch = (operation.equals("read") ? readStall : stall).get();
            if (latch != null) {
                try {
                    latch.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while the disk hung", e);
                }
            }
            if (failing) {
                throw new IOException("injected disk failure (" + operation + " at " + offset + ")");
            }
        }

        @Override
        public long sizeBytes() {
            return real.sizeBytes();
        }

        @Override
        public void read(long offset, ByteBuffer destination) throws IOException {
            check("read", offset);
            real.read(offset, destination);
        }

        @Override
        public void write(long offset, ByteBuffer source) throws IOException {
            check("write", offset);
            real.write(offset, source);
        }

        @Override
        public void writeZeroes(long offset, long length) throws IOException {
            check("write zeroes", offset);
            real.writeZeroes(offset, length);
        }

        @Override
        public void sync() throws IOException {
            check("sync", 0);
            real.sync();
        }

        @Override
        public void close() throws IOException {
            real.close();
        }
    }
}
