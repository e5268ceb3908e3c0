package io.avance.xen;

import io.avance.api.NodeId;
import io.avance.api.hypervisor.DiskAttachment;
import io.avance.api.hypervisor.HypervisorContext;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.replication.VolumeException;
import java.nio.file.Path;

/** A context for tests: a node id and a state directory; disks cannot be attached. */
record TestContext(NodeId node, Path stateDirectory) implements HypervisorContext {

    static TestContext in(Path directory) {
        return new TestContext(NodeId.of("alpha"), directory);
    }

    @Override
    public DiskAttachment attach(VmSpec.Disk disk) {
        throw new VolumeException(VolumeException.Reason.NOT_SERVING, "tests attach no disks: " + disk.volume());
    }
}
