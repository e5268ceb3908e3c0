package io.avance.testkit.hypervisor;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One running incarnation of a simulated guest program: its memory, its disk, its threads and,
 * for the kv program, its service.
 *
 * <h2>The kv program</h2>
 * A key-value service whose state is in guest memory (a {@link KvTable}) and on its first disk
 * (a {@link KvLog}). A PUT is appended to the log with FUA and only then applied to the table and
 * acknowledged; a boot replays the log into a zeroed table; a migrated guest needs no replay,
 * because its memory is its state. Requests, one line each (see {@link #handle}):
 * <pre>
 *   PUT &lt;key&gt; &lt;value&gt;  -&gt;  OK &lt;seq&gt;
 *   GET &lt;key&gt;          -&gt;  VALUE &lt;value&gt;   or   NONE
 *   STATS              -&gt;  STATS keys=&lt;n&gt; seq=&lt;last seq&gt; boot=&lt;boot id&gt; node=&lt;node&gt;
 *   anything wrong     -&gt;  ERR &lt;message&gt;
 * </pre>
 * Keys are 1-64 and values 1-184 characters of printable ASCII without spaces ({@code !} to
 * {@code ~}). The table holds three quarters of its slots (see {@link GuestLayout}); when it is
 * full, a PUT of a new key gets {@code ERR table full ...}. When the log area is full, every PUT
 * gets {@code ERR disk log full ...}.
 *
 * <h2>Threads and the gate</h2>
 * Every unit of guest work (a request, a batch of dirtied pages, a scratch block) passes the
 * {@link GuestGate}, and kv requests run one at a time under the guest's "CPU" lock. Pausing
 * closes the gate and waits for the work inside, so a paused guest touches neither memory nor
 * disk; {@link #stats()} reads without passing the gate (it is the hypervisor looking in, not the
 * guest running).
 *
 * <p>Owned by one {@link SimulatedVm}, which serialises the lifecycle calls
 * ({@link #run}, {@link #pause}, {@link #resume}, {@link #saveDeviceState}, {@link #shutdown},
 * {@link #kill}); the guest's own threads call {@link #handle}.
 */
final class Guest {

    private static final Logger LOG = System.getLogger(Guest.class.getName());
    /** How long a kill waits for writes the guest had issued, see {@link GuestDisk}. */
    private static final Duration DISK_DRAIN = Duration.ofSeconds(10);
    /** How long a clean shutdown lets requests in progress finish. */
    private static final Duration SHUTDOWN_DRAIN = Duration.ofSeconds(10);

    private final String vm;
    private final String node;
    private final GuestOptions options;
    private final GuestLayout layout;
    private final GuestRam ram;
    private final GuestDisk disk;
    private final long bootId;
    private final GuestGate gate = new GuestGate();
    private final ReentrantLock cpu = new ReentrantLock();
    private final KvTable table;
    private final KvLog log;
    private final MemoryDirtier dirtier;
    private final DiskScratchWriter diskWriter;
    private final GuestNic nic;
    private final List<Thread> threads = new ArrayList<>();
    private final Consumer<Throwable> onFault;
    private volatile long requestsServed;

    private Guest(String vm, String node, GuestOptions options, GuestRam ram, GuestDisk disk, long bootId,
                  KvTable table, KvLog log, long dirtierState, long diskState, Consumer<Throwable> onFault) {
        this.vm = vm;
        this.node = node;
        this.options = options;
        this.layout = GuestLayout.of(options.program(), ram.sizeBytes());
        this.ram = ram;
        this.disk = disk;
        this.bootId = bootId;
        this.onFault = onFault;
        this.table = table;
        this.log = log;
        this.dirtier = options.dirtyRateBytesPerSecond() > 0
                ? new MemoryDirtier(ram, layout, gate, options.dirtyRateBytesPerSecond(), dirtierState, onFault)
                : null;
        DiskScratchWriter writer = null;
        if (options.diskRateBytesPerSecond() > 0 && disk != null) {
            writer = new DiskScratchWriter(disk, gate, options.diskRateBytesPerSecond(), diskState, onFault);
            if (!writer.hasScratch()) {
                writer = null;
            }
        }
        this.diskWriter = writer;
        this.nic = options.program() == GuestOptions.Program.KV && options.port() != 0
                ? new GuestNic(vm, options.bind(), options.port(), this::handle)
                : null;
    }

    /**
     * Boots the program from scratch in zeroed memory: formats the kv table and replays the log.
     *
     * @param vm      the VM's name
     * @param node    the node the guest runs on, for STATS
     * @param options the guest's settings
     * @param ram     zeroed memory
     * @param disk    the first disk, or null if the VM has none (idle only)
     * @param onFault called when a guest thread fails unexpectedly (the guest has crashed)
     * @return the guest, not yet running
     * @throws IOException          if the log cannot be read
     * @throws InterruptedException if interrupted
     * @throws IllegalStateException if the log holds more keys than this memory's table takes
     */
    static Guest boot(String vm, String node, GuestOptions options, GuestRam ram, GuestDisk disk,
                      Consumer<Throwable> onFault) throws IOException, InterruptedException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        GuestLayout layout = GuestLayout.of(options.program(), ram.sizeBytes());
        KvTable table = null;
        KvLog log = null;
        if (options.program() == GuestOptions.Program.KV) {
            KvTable formatted = KvTable.format(ram, layout);
            log = KvLog.replay(disk, (sequence, key, value) -> {
                if (!formatted.fits(key)) {
                    throw new IllegalStateException("the disk log of VM " + vm + " holds more keys than the "
                            + formatted.maxKeys() + " a guest of " + (ram.sizeBytes() >> 20) + " MiB can hold "
                            + "(at record " + sequence + ")");
                }
                formatted.put(key, value);
            });
            table = formatted;
        }
        if (options.fillRandom()) {
            // Every scratch page in use, as in a busy guest: a migration must carry all of it.
            SplitMix64 fill = new SplitMix64(random.nextLong());
            long first = layout.scratchFirstPage() * GuestRam.PAGE_SIZE;
            long end = first + layout.scratchPages() * GuestRam.PAGE_SIZE;
            for (long address = first; address < end; address += Long.BYTES) {
                ram.putLong(address, fill.next() | 1);
            }
        }
        return new Guest(vm, node, options, ram, disk, random.nextLong(), table, log, random.nextLong(),
                random.nextLong(), onFault);
    }

    /**
     * Rebuilds a migrated guest from its memory (already filled) and its device state: no replay.
     *
     * @param vm      the VM's name
     * @param node    the node the guest now runs on
     * @param options the guest's settings (from the target's spec)
     * @param ram     memory filled by the migrator
     * @param disk    the first disk, or null
     * @param state   the device state saved on the source
     * @param onFault called when a guest thread fails unexpectedly
     * @return the guest, not yet running
     * @throws IllegalStateException if the state or the memory does not fit this VM
     */
    static Guest restore(String vm, String node, GuestOptions options, GuestRam ram, GuestDisk disk,
                         DeviceState state, Consumer<Throwable> onFault) {
        if (state.program() != options.program()) {
            throw new IllegalStateException("the device state is of a " + state.program() + " guest, VM " + vm
                    + " runs " + options.program());
        }
        if (state.memoryBytes() != ram.sizeBytes()) {
            throw new IllegalStateException("the device state is of a guest with " + state.memoryBytes()
                    + " bytes of memory, VM " + vm + " has " + ram.sizeBytes());
        }
        GuestLayout layout = GuestLayout.of(options.program(), ram.sizeBytes());
        KvTable table = null;
        KvLog log = null;
        if (options.program() == GuestOptions.Program.KV) {
            table = KvTable.attach(ram, layout);
            log = new KvLog(disk, state.appendOffset(), state.lastSequence());
            if (state.appendOffset() < 0 || state.appendOffset() > log.areaBytes()) {
                throw new IllegalStateException("the device state puts the log end at " + state.appendOffset()
                        + ", outside the log area of " + log.areaBytes() + " bytes");
            }
        }
        return new Guest(vm, node, options, ram, disk, state.bootId(), table, log, state.dirtierState(),
                state.diskState(), onFault);
    }

    /**
     * Starts the guest's threads and plugs in its NIC.
     *
     * @throws IOException if the NIC cannot bind its address; nothing is left running
     */
    void run() throws IOException {
        if (nic != null) {
            nic.plug();
        }
        if (dirtier != null) {
            startThread(dirtier, "sim-" + vm + "-dirtier");
        }
        if (diskWriter != null) {
            startThread(diskWriter, "sim-" + vm + "-disk");
        }
    }

    private void startThread(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        synchronized (threads) {
            threads.add(thread);
        }
        thread.start();
    }

    /** @return the boot id, 16 hex digits */
    String bootId() {
        return String.format("%016x", bootId);
    }

    /**
     * Pauses: no guest thread touches memory or disk when this returns true.
     *
     * @param timeout how long work in progress may take
     * @return false if work in progress did not finish in time; the guest keeps running
     */
    boolean pause(Duration timeout) {
        return gate.close(timeout);
    }

    /**
     * Resumes; plugs the NIC back in if a saved device state had unplugged it (a migration that
     * failed after the save).
     */
    void resume() {
        gate.open();
        if (nic != null && !nic.plugged()) {
            nic.plugInBackground();
        }
    }

    /**
     * Saves the device state of the paused guest and unplugs its NIC: from here on, its network
     * endpoint belongs to whichever copy of the VM runs next.
     *
     * @return the encoded state
     * @throws IllegalStateException if the guest is not paused
     */
    byte[] saveDeviceState() {
        if (!gate.isClosed()) {
            throw new IllegalStateException("the guest is not paused");
        }
        if (nic != null) {
            nic.unplug();
        }
        cpu.lock();
        try {
            return new DeviceState(options.program(), ram.sizeBytes(), bootId,
                    log == null ? 0 : log.lastSequence(), log == null ? 0 : log.appendOffset(),
                    dirtier == null ? 0 : dirtier.randomState(), diskWriter == null ? 0 : diskWriter.randomState())
                    .encode();
        } finally {
            cpu.unlock();
        }
    }

    /**
     * A clean stop: lets requests in progress finish, closes the endpoint, stops the threads and
     * flushes the disk.
     */
    void shutdown() {
        if (!gate.stop(SHUTDOWN_DRAIN)) {
            LOG.log(Level.WARNING, "{0}: guest work still in progress after {1} s of shutdown", vm,
                    SHUTDOWN_DRAIN.toSeconds());
        }
        if (nic != null) {
            nic.unplug();
        }
        joinThreads();
        if (disk != null) {
            try {
                KvLog.await(disk.flush().toCompletableFuture(), "flush of " + disk.name());
            } catch (IOException e) {
                LOG.log(Level.WARNING, "{0}: flush at shutdown failed: {1}", vm, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * An abrupt stop: the guest dies where it stands (no flush, no reply to requests in
     * progress). Returns once its threads are gone and the writes it had issued have landed.
     */
    void kill() {
        gate.stop(Duration.ZERO);
        if (nic != null) {
            nic.unplug();
        }
        synchronized (threads) {
            for (Thread thread : threads) {
                thread.interrupt();
            }
        }
        joinThreads();
        // A request inside the gate is waiting for its log write, which lands whatever we do; let
        // it finish (it can no longer reply: its connection is closed) before the memory goes.
        if (!gate.stop(DISK_DRAIN)) {
            LOG.log(Level.WARNING, "{0}: guest work still in progress {1} s after the kill", vm,
                    DISK_DRAIN.toSeconds());
        }
        if (disk != null && !disk.awaitQuiet(DISK_DRAIN)) {
            LOG.log(Level.WARNING, "{0}: writes of the dead guest still in flight after {1} s", vm,
                    DISK_DRAIN.toSeconds());
        }
    }

    private void joinThreads() {
        List<Thread> copy;
        synchronized (threads) {
            copy = new ArrayList<>(threads);
        }
        long deadline = System.nanoTime() + SHUTDOWN_DRAIN.toNanos();
        for (Thread thread : copy) {
            try {
                thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (thread.isAlive()) {
                LOG.log(Level.WARNING, "{0}: guest thread {1} did not end", vm, thread.getName());
            }
        }
        // Requests already inside the gate leave it before the gate's stop returns; connection
        // threads blocked at the gate fail out of it. Neither is joined: they hold nothing.
    }

    /** @return what the guest reports, read without passing the gate */
    GuestStats stats() {
        long keys = 0;
        long sequence = 0;
        long logBytes = 0;
        if (table != null) {
            cpu.lock();
            try {
                keys = table.size();
                sequence = log.lastSequence();
                logBytes = log.appendOffset();
            } finally {
                cpu.unlock();
            }
        }
        Optional<InetSocketAddress> endpoint = nic != null && nic.plugged() ? Optional.of(nic.address())
                : Optional.empty();
        return new GuestStats(options.program().name().toLowerCase(java.util.Locale.ROOT), bootId(), keys, sequence,
                logBytes, gate.isClosed(), endpoint, requestsServed, dirtier == null ? 0 : dirtier.unitsWritten(),
                diskWriter == null ? 0 : diskWriter.unitsWritten(), diskWriter == null ? 0 : diskWriter.errors());
    }

    /**
     * Runs one request line through the guest, as the NIC delivers it: it waits at the gate while
     * the guest is paused.
     *
     * @param line       the request
     * @param generation the NIC generation it arrived on; a request from an unplugged generation is
     *                   dropped
     * @return the reply, or null if dropped
     * @throws GuestGate.GuestStoppedException if the guest stopped
     */
    String handle(String line, long generation) {
        gate.enter();
        try {
            if (nic == null || nic.generation() != generation) {
                return null;
            }
            return executeLocked(line);
        } finally {
            gate.exit();
        }
    }

    /**
     * Runs one request line through the guest without a NIC (the hypervisor's back door for tests):
     * it waits at the gate while the guest is paused, like a packet would.
     *
     * @param line the request
     * @return the reply
     * @throws GuestGate.GuestStoppedException if the guest stopped
     */
    String request(String line) {
        if (table == null) {
            return "ERR the " + options.program().name().toLowerCase(java.util.Locale.ROOT)
                    + " program serves no requests";
        }
        gate.enter();
        try {
            return executeLocked(line);
        } finally {
            gate.exit();
        }
    }

    private String executeLocked(String line) {
        cpu.lock();
        try {
            String reply = execute(line);
            requestsServed++;
            return reply;
        } catch (GuestGate.GuestStoppedException e) {
            throw e;
        } catch (RuntimeException e) {
            // A bug in the guest program is a guest crash, as a kernel oops would be.
            if (!gate.isStopped()) {
                onFault.accept(e);
            }
            throw new GuestGate.GuestStoppedException();
        } finally {
            cpu.unlock();
        }
    }

    /**
     * Executes a request; the caller holds the gate and the CPU lock.
     *
     * @param line the request
     * @return the reply
     */
    String execute(String line) {
        String[] words = line.split(" ", -1);
        switch (words[0]) {
            case "PUT":
                if (words.length != 3) {
                    return "ERR usage: PUT <key> <value>";
                }
                return put(words[1], words[2]);
            case "GET":
                if (words.length != 2) {
                    return "ERR usage: GET <key>";
                }
                String bad = checkToken("key", words[1], KvTable.MAX_KEY);
                if (bad != null) {
                    return bad;
                }
                return table.get(ascii(words[1])).map(v -> "VALUE " + new String(v, StandardCharsets.US_ASCII))
                        .orElse("NONE");
            case "STATS":
                if (words.length != 1) {
                    return "ERR usage: STATS";
                }
                return "STATS keys=" + table.size() + " seq=" + log.lastSequence() + " boot=" + bootId() + " node="
                        + node;
            default:
                return "ERR unknown command '" + printable(words[0]) + "': the kv guest knows PUT, GET and STATS";
        }
    }

    private String put(String keyText, String valueText) {
        String bad = checkToken("key", keyText, KvTable.MAX_KEY);
        if (bad == null) {
            bad = checkToken("value", valueText, KvTable.MAX_VALUE);
        }
        if (bad != null) {
            return bad;
        }
        byte[] key = ascii(keyText);
        byte[] value = ascii(valueText);
        if (!table.fits(key)) {
            return "ERR table full: a guest of " + (ram.sizeBytes() >> 20) + " MiB holds at most " + table.maxKeys()
                    + " keys";
        }
        if (!log.fits(key.length, value.length)) {
            return "ERR disk log full: " + log.appendOffset() + " of " + log.areaBytes() + " bytes of the log area of "
                    + disk.name() + " used";
        }
        long sequence;
        try {
            sequence = log.append(key, value);
        } catch (IOException e) {
            return "ERR disk write failed, the PUT is not applied: " + e.getMessage().replace('\n', ' ');
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestGate.GuestStoppedException();
        }
        // Durable on both nodes now: apply it to memory, then acknowledge.
        table.put(key, value);
        return "OK " + sequence;
    }

    private static String checkToken(String what, String token, int max) {
        if (token.isEmpty() || token.length() > max) {
            return "ERR " + what + " must be 1-" + max + " characters, was " + token.length();
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < '!' || c > '~') {
                return "ERR " + what + " must be printable ASCII without spaces (character " + i + " is "
                        + (int) c + ")";
            }
        }
        return null;
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && i < 32; i++) {
            char c = text.charAt(i);
            out.append(c >= ' ' && c <= '~' ? c : '?');
        }
        return out.toString();
    }
}
