package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.event.PairEvent;
import io.avance.api.hypervisor.DiskAttachment;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.replication.Volume;
import io.avance.api.replication.VolumeException;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.replication.VolumeManager;
import io.avance.core.storage.BlockStoreFactory;
import io.avance.core.time.NanoClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Real volumes of the engine, in files in one directory, on a node that is alone (no peer) and
 * primary: the disks of simulated VMs in tests that do not need a pair. A write with FUA is
 * durable in the file when it completes, exactly as on one node of a pair.
 *
 * <p>{@link #context} gives a {@link HypervisorContext} whose {@code attach} opens the disk's
 * volume here (creating it, sparse, the first time). Several contexts share the same volumes:
 * two simulated hypervisors (a migration's source and target) then see one disk, as a pair's
 * replicated volume would look to both nodes. The attachment's NBD address only names the volume:
 * nothing is exported.
 *
 * <p>Unlike the contract classes, this class uses {@code avance-core}. Thread-safe.
 */
public final class StandaloneVolumes implements AutoCloseable {

    private final Path directory;
    private final VolumeManager volumes;
    private volatile boolean serving = true;

    /**
     * Opens (or creates) the volumes of a directory.
     *
     * @param directory where the volume files are kept ({@code <name>.img} and metadata)
     */
    public StandaloneVolumes(Path directory) {
        this.directory = directory;
        this.volumes = new VolumeManager(new AloneNode(), directory, BlockStoreFactory.files(), 0, NanoClock.system(),
                Clock.systemUTC(), new SimpleMeterRegistry());
    }

    /** @return the directory the volume files are in */
    public Path directory() {
        return directory;
    }

    /**
     * Opens a volume, creating it if needed.
     *
     * @param name      the volume's name
     * @param sizeBytes its size, a multiple of 4096
     * @return the volume
     * @throws VolumeException if it exists with another size
     */
    public Volume open(String name, long sizeBytes) {
        return volumes.open(VolumeSpec.of(name, sizeBytes), Optional.empty());
    }

    /**
     * A hypervisor context on these volumes.
     *
     * @param node           the node the adapter runs on (it appears in the kv guest's STATS)
     * @param stateDirectory the adapter's directory
     * @return the context
     */
    public HypervisorContext context(NodeId node, Path stateDirectory) {
        return new SimpleHypervisorContext(node, stateDirectory, this::attach);
    }

    private DiskAttachment attach(VmSpec.Disk disk) {
        if (!serving) {
            throw new VolumeException(VolumeException.Reason.NOT_SERVING, "volume " + disk.volume()
                    + " cannot be attached: this node is not serving");
        }
        return new DiskAttachment(open(disk.volume(), disk.sizeBytes()),
                URI.create("nbd://127.0.0.1/" + disk.volume()));
    }

    /**
     * Makes the node stop (or start again) serving, as a primary that lost its lease: reads and
     * writes of every volume then fail with {@link VolumeException.Reason#NOT_SERVING}, and no
     * disk can be attached.
     *
     * @param serving whether the node may serve
     */
    public void serving(boolean serving) {
        this.serving = serving;
    }

    /** Closes every volume. */
    @Override
    public void close() {
        volumes.close();
    }

    private final class AloneNode implements VolumeManager.Node {
        @Override
        public NodeId id() {
            return NodeId.of("standalone");
        }

        @Override
        public boolean mayServe() {
            return serving;
        }

        @Override
        public boolean primary() {
            return true;
        }

        @Override
        public boolean paired() {
            return false;
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void diskFailed(String volume, String cause) {
        }

        @Override
        public void publish(PairEvent event) {
        }

        @Override
        public void audit(String action, String detail, String outcome) {
        }
    }
}
