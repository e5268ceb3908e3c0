package io.avance.testkit.hypervisor;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.DiskAttachment;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.replication.VolumeException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;

/**
 * A {@link HypervisorContext} made of plain values: a node id, a state directory and a function
 * that resolves disks (by default, none can be). Depends on nothing but the API, so that the
 * contract suites can use it wherever they run (a Xen dom0 with a minimal JRE included).
 *
 * <p>Immutable and thread-safe if the attach function is.
 */
public final class SimpleHypervisorContext implements HypervisorContext {

    private final NodeId node;
    private final Path stateDirectory;
    private final Function<VmSpec.Disk, DiskAttachment> attach;

    /**
     * Creates a context whose disks are resolved by a function.
     *
     * @param node           the node the adapter runs on
     * @param stateDirectory the adapter's directory
     * @param attach         resolves a disk; may throw {@link VolumeException}
     */
    public SimpleHypervisorContext(NodeId node, Path stateDirectory, Function<VmSpec.Disk, DiskAttachment> attach) {
        this.node = Objects.requireNonNull(node, "node");
        this.stateDirectory = Objects.requireNonNull(stateDirectory, "stateDirectory");
        this.attach = Objects.requireNonNull(attach, "attach");
    }

    /**
     * Creates a context that resolves no disk: for VMs without disks.
     *
     * @param node           the node the adapter runs on
     * @param stateDirectory the adapter's directory
     */
    public SimpleHypervisorContext(NodeId node, Path stateDirectory) {
        this(node, stateDirectory, disk -> {
            throw new VolumeException(VolumeException.Reason.NO_SUCH_VOLUME, "no volume named " + disk.volume()
                    + " on node " + node + ": this context resolves no disks");
        });
    }

    @Override
    public NodeId node() {
        return node;
    }

    @Override
    public Path stateDirectory() {
        return stateDirectory;
    }

    @Override
    public DiskAttachment attach(VmSpec.Disk disk) {
        return attach.apply(disk);
    }
}
