package io.avance.testkit.hypervisor;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmEvent;
import io.avance.api.hypervisor.VmInfo;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.migration.GuestMemory;
import io.avance.api.migration.IncomingVm;
import io.avance.api.migration.MigrationException;
import io.avance.api.replication.Volume;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One VM of the {@link SimulatedHypervisor}: its definition, its state and, while it runs, its
 * {@link Guest}.
 *
 * <h2>States this adapter reports</h2>
 * DEFINED, STARTING, RUNNING, PAUSED, STOPPING, STOPPED and CRASHED. MIGRATING and FAILED are the
 * engine's states (a migration in progress, a restart limit reached); a hypervisor never reports
 * them. A VM being migrated in is PAUSED until it is activated.
 * <pre>
 *   DEFINED, STOPPED, CRASHED --start--&gt; STARTING --booted--&gt; RUNNING
 *                                         ^   '--boot fails--&gt; CRASHED
 *                                         '-------reboot------ RUNNING
 *   RUNNING --pause--&gt; PAUSED --resume--&gt; RUNNING
 *   RUNNING --shutdown--&gt; STOPPING --the guest powers off--&gt; STOPPED
 *   RUNNING, PAUSED, CRASHED --destroy--&gt; STOPPED
 *   RUNNING, PAUSED --crash (injected, or a guest thread failed)--&gt; CRASHED
 *   DEFINED, STOPPED, CRASHED --prepareIncoming--&gt; PAUSED --activate--&gt; RUNNING
 *                                                          '--abort-----&gt; STOPPED
 * </pre>
 *
 * <table>
 *   <caption>Legal transitions, and the event each one publishes</caption>
 *   <tr><th>from \ to</th><th>STARTING</th><th>RUNNING</th><th>PAUSED</th><th>STOPPING</th>
 *       <th>STOPPED</th><th>CRASHED</th></tr>
 *   <tr><td>DEFINED</td> <td>x</td><td>-</td><td>x (incoming)</td><td>-</td><td>-</td><td>-</td></tr>
 *   <tr><td>STARTING</td><td>-</td><td>STARTED</td><td>-</td><td>-</td><td>-</td><td>CRASHED</td></tr>
 *   <tr><td>RUNNING</td> <td>REBOOTED</td><td>-</td><td>PAUSED</td><td>x</td><td>DESTROYED</td><td>CRASHED</td></tr>
 *   <tr><td>PAUSED</td>  <td>-</td><td>RESUMED</td><td>-</td><td>-</td><td>DESTROYED</td><td>CRASHED</td></tr>
 *   <tr><td>STOPPING</td><td>-</td><td>-</td><td>-</td><td>-</td><td>SHUT_DOWN</td><td>-</td></tr>
 *   <tr><td>STOPPED</td> <td>x</td><td>-</td><td>x (incoming)</td><td>-</td><td>-</td><td>-</td></tr>
 *   <tr><td>CRASHED</td> <td>x</td><td>-</td><td>x (incoming)</td><td>-</td><td>DESTROYED</td><td>-</td></tr>
 * </table>
 * "x" is legal and publishes nothing; "-" is illegal. Nothing goes back to DEFINED. A reboot
 * publishes REBOOTED as it leaves RUNNING and STARTED when the new boot runs. Every change goes
 * through {@link #transition}, which rejects what the table does not allow; the operations check
 * their preconditions first and refuse with a {@link HypervisorException} that says why.
 *
 * <p>Thread-safety: every operation holds the VM's lock for its whole length, so operations on
 * one VM are serialised; {@link #info()} reads the state without it. A crash first stops the
 * guest's gate without the lock, so that it is abrupt even while another operation waits on the
 * guest.
 */
final class SimulatedVm {

    private static final Logger LOG = System.getLogger(SimulatedVm.class.getName());
    private static final Map<VmState, Set<VmState>> LEGAL = new EnumMap<>(VmState.class);
    private static final Duration PAUSE_TIMEOUT = Duration.ofSeconds(10);
    private static final int HISTORY = 64;

    static {
        LEGAL.put(VmState.DEFINED, EnumSet.of(VmState.STARTING, VmState.PAUSED));
        LEGAL.put(VmState.STARTING, EnumSet.of(VmState.RUNNING, VmState.CRASHED));
        LEGAL.put(VmState.RUNNING, EnumSet.of(VmState.STARTING, VmState.PAUSED, VmState.STOPPING, VmState.STOPPED,
                VmState.CRASHED));
        LEGAL.put(VmState.PAUSED, EnumSet.of(VmState.RUNNING, VmState.STOPPED, VmState.CRASHED));
        LEGAL.put(VmState.STOPPING, EnumSet.of(VmState.STOPPED));
        LEGAL.put(VmState.STOPPED, EnumSet.of(VmState.STARTING, VmState.PAUSED));
        LEGAL.put(VmState.CRASHED, EnumSet.of(VmState.STARTING, VmState.PAUSED, VmState.STOPPED));
        LEGAL.put(VmState.MIGRATING, EnumSet.noneOf(VmState.class));
        LEGAL.put(VmState.FAILED, EnumSet.noneOf(VmState.class));
    }

    /** What a VM needs from its hypervisor. */
    interface Host {
        /** @return this node's id, for STATS */
        String node();

        /** @param disk a disk @return the volume behind it (the context's attach) */
        Volume attach(VmSpec.Disk disk);

        /** @param vm the VM @param bytes its memory @throws HypervisorException if it does not fit */
        void reserve(String vm, long bytes);

        /** @param vm the VM whose memory is given back */
        void unreserve(String vm);

        /** @param event queued for listeners, delivered on the adapter's thread */
        void publish(VmEvent event);

        /** @param vm crashed by its guest, asynchronously @param cause what failed */
        void guestFault(String vm, Throwable cause);

        /** @param vm a VM that only existed for a migration that did not complete */
        void forget(SimulatedVm vm);

        /** @return a new hypervisor id for a VM incarnation */
        String nextHypervisorId();

        /** @return the time for events */
        java.time.Instant now();
    }

    private final Host host;
    private final VmSpec spec;
    private final GuestOptions options;
    private final ReentrantLock lock = new ReentrantLock();
    private final Deque<String> history = new ArrayDeque<>();
    private volatile VmState state = VmState.DEFINED;
    private volatile Guest guest;
    private volatile String hypervisorId = "none";
    private GuestRam ram;
    private Incoming incoming;
    private volatile boolean definedByIncoming;

    SimulatedVm(Host host, VmSpec spec, GuestOptions options, boolean definedByIncoming) {
        this.host = host;
        this.spec = spec;
        this.options = options;
        this.definedByIncoming = definedByIncoming;
    }

    /**
     * Whether a move is legal.
     *
     * @param from the current state
     * @param to   the next
     * @return true if the table allows it
     */
    static boolean legal(VmState from, VmState to) {
        return LEGAL.get(from).contains(to);
    }

    /**
     * The event a legal move publishes.
     *
     * @param from the state left
     * @param to   the state entered
     * @return the event's kind, or empty
     */
    static Optional<VmEvent.Kind> eventFor(VmState from, VmState to) {
        switch (to) {
            case RUNNING:
                return Optional.of(from == VmState.PAUSED ? VmEvent.Kind.RESUMED : VmEvent.Kind.STARTED);
            case STARTING:
                return from == VmState.RUNNING ? Optional.of(VmEvent.Kind.REBOOTED) : Optional.empty();
            case PAUSED:
                return from == VmState.RUNNING ? Optional.of(VmEvent.Kind.PAUSED) : Optional.empty();
            case STOPPED:
                return Optional.of(from == VmState.STOPPING ? VmEvent.Kind.SHUT_DOWN : VmEvent.Kind.DESTROYED);
            case CRASHED:
                return Optional.of(VmEvent.Kind.CRASHED);
            default:
                return Optional.empty();
        }
    }

    /** @return the VM's definition */
    VmSpec spec() {
        return spec;
    }

    /** @return the VM's name */
    String name() {
        return spec.name();
    }

    /** @return its state now */
    VmState state() {
        return state;
    }

    /** @return what the hypervisor reports */
    VmInfo info() {
        return new VmInfo(spec.name(), state, spec.cores(), spec.memoryBytes(), hypervisorId);
    }

    /** @return whether it exists only for an incoming migration not yet activated */
    boolean definedByIncoming() {
        return definedByIncoming;
    }

    /** @return the last transitions, oldest first, for diagnostics */
    List<String> history() {
        lock.lock();
        try {
            return List.copyOf(history);
        } finally {
            lock.unlock();
        }
    }

    /** Marks a definition made by an incoming migration as the engine's own (define after the fact). */
    void adopt() {
        // Without the VM's lock: the adapter calls this under its own lock, and the VM calls the
        // adapter (forget) under the VM's lock; taking both here would invert that order.
        definedByIncoming = false;
    }

    // ------------------------------------------------------------------------------------------
    // Lifecycle

    void start() {
        lock.lock();
        try {
            require("start", VmState.DEFINED, VmState.STOPPED, VmState.CRASHED);
            host.reserve(name(), spec.memoryBytes());
            hypervisorId = host.nextHypervisorId();
            transition(VmState.STARTING, "start requested");
            try {
                boot(new GuestRam(name(), spec.memoryBytes()));
            } catch (IOException | RuntimeException e) {
                throw bootFailed(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw bootFailed(e);
            }
            transition(VmState.RUNNING, "booted " + describeBoot());
        } finally {
            lock.unlock();
        }
    }

    void reboot() {
        lock.lock();
        try {
            require("reboot", VmState.RUNNING);
            transition(VmState.STARTING, "reboot requested");
            guest.shutdown();
            GuestRam memory = ram;
            memory.clear();
            try {
                boot(memory);
            } catch (IOException | RuntimeException e) {
                throw bootFailed(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw bootFailed(e);
            }
            transition(VmState.RUNNING, "rebooted " + describeBoot());
        } finally {
            lock.unlock();
        }
    }

    private void boot(GuestRam memory) throws IOException, InterruptedException {
        ram = memory;
        guest = null;
        GuestDisk disk = spec.disks().isEmpty() ? null : new GuestDisk(host.attach(spec.disks().get(0)));
        Guest booted = Guest.boot(name(), host.node(), options, memory, disk, this::onGuestFault);
        booted.run();
        guest = booted;
    }

    private String describeBoot() {
        GuestStats stats = guest.stats();
        return "(boot " + stats.bootId() + (stats.program().equals("kv") ? ", " + stats.keys() + " keys, log up to seq "
                + stats.lastSequence() + " replayed" : "") + ")";
    }

    private HypervisorException bootFailed(Exception e) {
        freeMemory();
        transition(VmState.CRASHED, "boot failed: " + e.getMessage());
        return new HypervisorException("VM " + name() + " failed to boot on the simulated hypervisor: "
                + e.getMessage(), e);
    }

    void pause() {
        lock.lock();
        try {
            if (state == VmState.PAUSED) {
                return;
            }
            require("pause", VmState.RUNNING);
            boolean paused;
            try {
                paused = guest.pause(PAUSE_TIMEOUT);
            } catch (GuestGate.GuestStoppedException e) {
                throw new HypervisorException("VM " + name() + " stopped while being paused");
            }
            if (!paused) {
                throw new HypervisorException("VM " + name() + " did not pause: guest work in progress did not "
                        + "finish within " + PAUSE_TIMEOUT.toSeconds() + " s (a disk that does not answer?); "
                        + "it keeps running");
            }
            transition(VmState.PAUSED, "pause requested");
        } finally {
            lock.unlock();
        }
    }

    void resume() {
        lock.lock();
        try {
            if (state == VmState.RUNNING) {
                return;
            }
            require("resume", VmState.PAUSED);
            if (incoming != null) {
                throw new HypervisorException("VM " + name() + " is being migrated in: it runs when the migration "
                        + "activates it, not on resume");
            }
            guest.resume();
            transition(VmState.RUNNING, "resume requested");
        } finally {
            lock.unlock();
        }
    }

    void shutdown() {
        lock.lock();
        try {
            if (state == VmState.PAUSED) {
                throw new HypervisorException("VM " + name() + " is paused: a paused guest cannot shut itself down; "
                        + "resume or destroy it");
            }
            require("shut down", VmState.RUNNING);
            transition(VmState.STOPPING, "shutdown requested");
            guest.shutdown();
            freeMemory();
            transition(VmState.STOPPED, "the guest powered off");
        } finally {
            lock.unlock();
        }
    }

    void destroy() {
        lock.lock();
        try {
            switch (state) {
                case DEFINED:
                case STOPPED:
                    return;
                case CRASHED:
                    transition(VmState.STOPPED, "destroyed after its crash");
                    return;
                default:
                    break;
            }
            require("destroy", VmState.RUNNING, VmState.PAUSED);
            if (incoming != null) {
                abortLocked(incoming, "destroyed while being migrated in");
                return;
            }
            guest.kill();
            freeMemory();
            transition(VmState.STOPPED, "destroyed");
        } finally {
            lock.unlock();
        }
    }

    /**
     * Kills the guest abruptly: its threads stop, its endpoint closes, nothing is flushed.
     *
     * @param reason why, for the event
     */
    void crash(String reason) {
        Guest victim = guest;
        if (victim != null) {
            // Abrupt even if another operation holds the lock and waits on the guest.
            victim.kill();
        }
        lock.lock();
        try {
            require("crash", VmState.RUNNING, VmState.PAUSED);
            if (guest != null) {
                guest.kill();
            }
            incoming = null;
            freeMemory();
            transition(VmState.CRASHED, reason);
        } finally {
            lock.unlock();
        }
    }

    /** Abrupt loss of power: no event, no flush. The VM is left STOPPED... for no one. */
    void powerOff() {
        Guest victim = guest;
        if (victim != null) {
            victim.kill();
        }
        lock.lock();
        try {
            if (ram != null) {
                ram.release();
                ram = null;
            }
            guest = null;
            incoming = null;
        } finally {
            lock.unlock();
        }
    }

    private void onGuestFault(Throwable cause) {
        host.guestFault(name(), cause);
    }

    /** Checks that the VM may be forgotten. */
    void checkUndefinable() {
        VmState now = state;
        if (now.active()) {
            throw new HypervisorException("VM " + name() + " is " + now + ": stop it before undefining it");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Memory, device state, introspection

    GuestMemory memory() {
        lock.lock();
        try {
            require("access guest memory of", VmState.RUNNING, VmState.PAUSED);
            return ram;
        } finally {
            lock.unlock();
        }
    }

    byte[] saveDeviceState() {
        lock.lock();
        try {
            if (state == VmState.RUNNING) {
                throw new HypervisorException("VM " + name() + " is RUNNING: pause it before saving its device state");
            }
            require("save the device state of", VmState.PAUSED);
            if (incoming != null) {
                throw new HypervisorException("VM " + name() + " is being migrated in: it has no device state yet");
            }
            return guest.saveDeviceState();
        } finally {
            lock.unlock();
        }
    }

    GuestStats stats() {
        Guest current = guest;
        if (current == null) {
            throw new HypervisorException("VM " + name() + " is " + state + ": its guest is not running");
        }
        return current.stats();
    }

    String request(String line) {
        Guest current = guest;
        if (current == null) {
            throw new HypervisorException("VM " + name() + " is " + state + ": its guest is not running");
        }
        try {
            return current.request(line);
        } catch (GuestGate.GuestStoppedException e) {
            throw new HypervisorException("VM " + name() + " stopped before it answered");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Incoming migration

    IncomingVm prepareIncoming() {
        lock.lock();
        try {
            require("receive a migration of", VmState.DEFINED, VmState.STOPPED, VmState.CRASHED);
            host.reserve(name(), spec.memoryBytes());
            hypervisorId = host.nextHypervisorId();
            ram = new GuestRam(name(), spec.memoryBytes());
            incoming = new Incoming(ram);
            transition(VmState.PAUSED, "incoming migration: waiting for memory and device state");
            return incoming;
        } finally {
            lock.unlock();
        }
    }

    private void activate(Incoming which, byte[] deviceState) {
        lock.lock();
        try {
            if (which.finished) {
                throw new IllegalStateException("activate or abort was already called for this migration of VM "
                        + name());
            }
            which.finished = true;
            if (incoming != which || state != VmState.PAUSED) {
                throw new MigrationException("VM " + name() + " is no longer waiting for this migration (it is "
                        + state + ")");
            }
            Guest restored = null;
            try {
                DeviceState decoded = DeviceState.decode(deviceState);
                GuestDisk disk = spec.disks().isEmpty() ? null : new GuestDisk(host.attach(spec.disks().get(0)));
                restored = Guest.restore(name(), host.node(), options, ram, disk, decoded, this::onGuestFault);
                restored.run();
            } catch (IOException | RuntimeException e) {
                if (restored != null) {
                    restored.kill();
                }
                abortLocked(which, "activation failed: " + e.getMessage());
                throw new MigrationException("VM " + name() + " cannot run from the migrated state: " + e.getMessage(),
                        e);
            }
            guest = restored;
            incoming = null;
            definedByIncoming = false;
            which.activated = true;
            transition(VmState.RUNNING, "migrated in: running from the received memory and device state ("
                    + describeBoot() + ")");
        } finally {
            lock.unlock();
        }
    }

    private void abort(Incoming which) {
        lock.lock();
        try {
            if (which.finished) {
                if (which.activated) {
                    throw new IllegalStateException("VM " + name() + " was activated; destroy it instead of aborting");
                }
                return;
            }
            which.finished = true;
            if (incoming == which) {
                abortLocked(which, "incoming migration aborted");
            }
        } finally {
            lock.unlock();
        }
    }

    private void abortLocked(Incoming which, String reason) {
        which.finished = true;
        incoming = null;
        freeMemory();
        transition(VmState.STOPPED, reason);
        host.forget(this);
    }

    /** The target side of a memory-copy migration. */
    private final class Incoming implements IncomingVm {
        private final GuestRam memory;
        private boolean finished;
        private boolean activated;

        Incoming(GuestRam memory) {
            this.memory = memory;
        }

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public void activate(byte[] deviceState) {
            SimulatedVm.this.activate(this, deviceState);
        }

        @Override
        public void abort() {
            SimulatedVm.this.abort(this);
        }
    }

    // ------------------------------------------------------------------------------------------

    private void freeMemory() {
        if (ram != null) {
            ram.release();
            ram = null;
        }
        guest = null;
        host.unreserve(name());
    }

    private void require(String operation, VmState... allowed) {
        VmState now = state;
        for (VmState ok : allowed) {
            if (now == ok) {
                return;
            }
        }
        throw new HypervisorException("cannot " + operation + " VM " + name() + ": it is " + now + ", and that needs "
                + (allowed.length == 1 ? allowed[0] : java.util.Arrays.toString(allowed)));
    }

    /**
     * The one place the state changes: checks the table, logs, keeps a short history and
     * publishes the move's event. The caller holds the lock.
     *
     * @param next   the state to enter
     * @param reason why, for the log and the event's detail
     * @throws IllegalStateException if the table does not allow the move (a bug here, not a
     *                               refusal: operations check their preconditions first)
     */
    private void transition(VmState next, String reason) {
        VmState from = state;
        if (!legal(from, next)) {
            throw new IllegalStateException("VM " + name() + ": illegal transition " + from + " -> " + next
                    + " (" + reason + ")");
        }
        state = next;
        String line = from + " -> " + next + ": " + reason;
        history.addLast(line);
        if (history.size() > HISTORY) {
            history.removeFirst();
        }
        LOG.log(Level.INFO, "{0} on {1}: {2}", name(), host.node(), line);
        eventFor(from, next).ifPresent(kind -> host.publish(new VmEvent(name(), kind, host.now(), reason)));
    }
}
