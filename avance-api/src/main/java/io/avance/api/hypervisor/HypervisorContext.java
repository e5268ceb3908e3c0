package io.avance.api.hypervisor;

import io.avance.api.NodeId;
import java.nio.file.Path;

/**
 * What the engine gives an adapter when it opens it.
 */
public interface HypervisorContext {

    /**
     * The node the adapter runs on.
     *
     * @return the node's id
     */
    NodeId node();

    /**
     * A directory the adapter may keep files in; it survives restarts.
     *
     * @return the adapter's own directory under the node's data directory
     */
    Path stateDirectory();

    /**
     * Resolves a VM's disk to the volume that backs it. Only the primary can resolve disks.
     *
     * @param disk one of the VM's disks
     * @return how the VM reaches it
     * @throws io.avance.api.replication.VolumeException if the volume does not exist or this node
     *         may not serve it
     */
    DiskAttachment attach(VmSpec.Disk disk);
}
