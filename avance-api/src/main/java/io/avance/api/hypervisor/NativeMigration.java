package io.avance.api.hypervisor;

import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A hypervisor's own migration stream (Xen's libxl save/restore stream), for adapters that
 * migrate natively instead of exposing guest memory.
 *
 * <p>The engine supplies both ends of the stream over its private link and runs its own
 * handshake around it: the target VM is left paused until the engine tells it to resume, so
 * that two copies never run at once.
 */
public interface NativeMigration {

    /**
     * Streams a running VM to the target; returns when the VM is suspended on this node and the
     * whole stream has been written. The VM stays paused here until {@link #finishSource} is
     * called.
     *
     * @param vm  the VM's name
     * @param out where the stream goes
     * @throws HypervisorException if the stream fails; the VM then keeps running here
     */
    void send(String vm, WritableByteChannel out);

    /**
     * Receives a VM from a stream and leaves it paused.
     *
     * @param spec the VM's description
     * @param in   where the stream comes from
     * @return the new, paused VM
     * @throws HypervisorException if the stream is incomplete or the VM cannot be built
     */
    VmInfo receive(VmSpec spec, ReadableByteChannel in);

    /**
     * Ends the migration on the source: destroys the suspended VM if the target took over, or
     * resumes it if the migration failed.
     *
     * @param vm       the VM's name
     * @param migrated true if the target now runs the VM
     */
    void finishSource(String vm, boolean migrated);
}
