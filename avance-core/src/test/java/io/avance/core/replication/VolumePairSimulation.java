package io.avance.core.replication;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import io.avance.api.replication.DataState;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.ResyncProgress;
import io.avance.api.replication.VolumeSpec;
import io.avance.core.time.Scheduler;
import io.avance.core.time.VirtualTime;
import io.avance.core.wire.FrameFormat;
import io.avance.core.wire.FrameType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * Two real {@link ReplicatedVolume}s, primary and backup, on one virtual clock, over a simulated
 * data channel (ordered delivery with latency, resets), on simulated disks whose writes are
 * volatile until a sync, with a seeded client writing (with and without FUA), flushing and
 * reading through whichever node serves, and a seeded schedule of faults: data-channel resets,
 * one-way stalls of the data channel (TCP holds the frames toward a node, and no new connection
 * can be made, until it heals), process crashes (the page cache survives) and power cuts (unsynced
 * writes lost), after which the backup takes over if its copy is up to date; disks that hang (the
 * node's I/O threads stop for up to 4 s), disks that fail (EIO on everything, noticed at once) and
 * disks that fill up (ENOSPC on writes only: latent until the node's next write), after which a
 * primary hands its role to an up-to-date backup (rule 5's failover) and the failed disk is
 * replaced by a blank one once the faults end. Everything runs on the calling
 * thread; a seed replays exactly.
 *
 * <p>The checker: a read never returns a block older than the newest write acknowledged before
 * the read began (after a power cut, only writes acknowledged with FUA or covered by an
 * acknowledged flush count); after the faults heal, the pair converges (both copies in sync and
 * byte for byte equal) and every block holds what the rule above requires.
 *
 * <p>What it does not model yet (issue 11): the pair controller and its leases (roles move only
 * as this class decides, with the takeover rule's data condition), and the metadata files' own
 * power cuts (the bitmap, the activity log and the metadata are real files).
 */
final class VolumePairSimulation {

    static final int BLOCK = 4096;
    static final int BLOCKS = 4096;
    static final long SIZE = (long) BLOCK * BLOCKS;
    private static final long MS = 1_000_000L;
    private static final long FAULTS_END = 12_000 * MS;
    private static final long END = 40_000 * MS;
    private static final long DETECTION = 500 * MS;

    /** The outcome of one seed. */
    record Result(long seed, List<String> violations, List<String> trace, long writesAcknowledged, long readsChecked,
                  int faults) {
        boolean passed() {
            return violations.isEmpty();
        }

        String describe() {
            StringBuilder text = new StringBuilder("volume pair seed " + seed + ": " + (passed() ? "passed" : "FAILED")
                    + " (" + writesAcknowledged + " writes acknowledged, " + readsChecked + " reads checked, " + faults
                    + " faults)");
            for (String violation : violations.subList(0, Math.min(10, violations.size()))) {
                text.append("\n  VIOLATION ").append(violation);
            }
            if (violations.size() > 10) {
                text.append("\n  ... and ").append(violations.size() - 10).append(" more");
            }
            if (!passed()) {
                // What led there: the trace without its violation lines, which the final check can
                // write by the thousand.
                List<String> events = trace.stream().filter(line -> !line.contains(" VIOLATION ")).toList();
                for (String line : events.subList(Math.max(0, events.size() - 120), events.size())) {
                    text.append("\n    ").append(line);
                }
            }
            return text.toString();
        }
    }

    private final long seed;
    private final Random random;
    private final VirtualTime time = new VirtualTime();
    private final Scheduler net = time.scheduler("net");
    private final Scheduler client = time.scheduler("client");
    private final VolumeSpec spec = VolumeSpec.of("v", SIZE);
    private final ByteBufAllocator allocator = UnpooledByteBufAllocator.DEFAULT;
    private final Node a;
    private final Node b;
    private Session session;
    private boolean linkCut;
    /** Until when the data channel holds what is sent toward a (b): a one-way partition. */
    private long stallToA;
    private long stallToB;
    /** A primary whose disk failed is handing its role over. */
    private boolean handingOver;
    private final List<String> trace = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    /** Per block, the writes to it in the order they were issued (index 0: the block as created, zeros). */
    private final List<List<WriteOp>> history = new ArrayList<>();
    private final List<Long> powerCuts = new ArrayList<>();
    private final List<long[]> flushes = new ArrayList<>();
    private long nextTag = 1;
    /** Operations in flight, by the process (owner) they were sent to: a crashed one's never end. */
    private final Map<String, Integer> outstanding = new HashMap<>();
    private long writesAcknowledged;
    private long readsChecked;
    private int faults;
    private boolean clientRunning = true;

    private static final class WriteOp {
        final long tag;
        final long issuedNanos;
        final boolean fua;
        long ackedNanos = -1;

        WriteOp(long tag, long issuedNanos, boolean fua) {
            this.tag = tag;
            this.issuedNanos = issuedNanos;
            this.fua = fua;
        }
    }

    private VolumePairSimulation(long seed, Path directory) {
        this.seed = seed;
        this.random = new Random(seed);
        this.a = new Node("a", directory.resolve("a"), 1);
        this.b = new Node("b", directory.resolve("b"), 2);
        a.peer = b;
        b.peer = a;
        for (int block = 0; block < BLOCKS; block++) {
            List<WriteOp> writes = new ArrayList<>();
            WriteOp created = new WriteOp(0, -1, true);
            created.ackedNanos = -1;
            writes.add(created);
            history.add(writes);
        }
    }

    /**
     * Runs one seed.
     *
     * @param seed      the seed
     * @param directory an empty directory for the nodes' metadata files
     * @return what happened
     */
    static Result run(long seed, Path directory) {
        VolumePairSimulation simulation = new VolumePairSimulation(seed, directory);
        simulation.execute();
        return new Result(seed, simulation.violations, simulation.trace, simulation.writesAcknowledged,
                simulation.readsChecked, simulation.faults);
    }

    private void execute() {
        a.primary = true;
        a.start();
        b.start();
        net.execute(this::maintainLink);
        net.after(10 * MS, this::heartbeat);
        client.after(2_000 * MS, this::clientStep);
        drawFaults();
        net.after(100 * MS, this::failover);
        net.after(FAULTS_END, this::heal);
        time.runUntil(END);
        clientRunning = false;
        finalCheck();
    }

    // ------------------------------------------------------------------------------------------
    // Faults

    private void drawFaults() {
        int count = 3 + random.nextInt(11);
        for (int i = 0; i < count; i++) {
            long at = 2_500 * MS + (long) (random.nextDouble() * (FAULTS_END - 3_000 * MS));
            long down = (20 + random.nextInt(1500)) * MS;
            // Past the acknowledgement timeout (2 s) as often as not.
            long longer = (100 + random.nextInt(3900)) * MS;
            int kind = random.nextInt(16);
            Node node = random.nextBoolean() ? a : b;
            if (kind < 4) {
                net.after(at, () -> cutLink(down));
            } else if (kind < 6) {
                net.after(at, () -> stallToward(node, longer));
            } else if (kind < 9) {
                net.after(at, () -> crash(node, false, down));
            } else if (kind < 11) {
                net.after(at, () -> crash(node, true, down));
            } else if (kind < 13) {
                net.after(at, () -> hangDisk(node, longer));
            } else if (kind < 14) {
                net.after(at, () -> failDisk(node));
            } else {
                net.after(at, () -> cutLink(down));
            }
        }
        // Drawn from a stream of its own, so that the draws above (and the seeds that tests name)
        // keep their schedules.
        Random more = new Random(seed * 0x9E3779B97F4A7C15L + 11);
        if (more.nextInt(4) == 0) {
            long at = 2_500 * MS + (long) (more.nextDouble() * (FAULTS_END - 3_000 * MS));
            Node node = more.nextBoolean() ? a : b;
            net.after(at, () -> fillDisk(node));
        }
    }

    /** One way only: frames toward the node wait in TCP until the stall ends; no new connection is made. */
    private void stallToward(Node node, long downNanos) {
        faults++;
        long until = time.now() + downNanos;
        log("the data channel toward " + node.name + " stalls for " + downNanos / MS + " ms");
        if (node == a) {
            stallToA = Math.max(stallToA, until);
        } else {
            stallToB = Math.max(stallToB, until);
        }
    }

    /** The disk stops answering: the node's I/O threads (and the volume's timers on them) stop. */
    private void hangDisk(Node node, long downNanos) {
        if (!node.up) {
            return;
        }
        faults++;
        String owner = node.owner;
        log(node.name + "'s disk hangs for " + downNanos / MS + " ms" + (node.primary ? " (primary)" : " (backup)"));
        node.hung = true;
        time.hold(owner);
        time.hold(owner + "/reads");
        net.after(downNanos, () -> {
            time.release(owner);
            time.release(owner + "/reads");
            if (node.owner.equals(owner)) {
                node.hung = false;
            }
            log(node.name + "'s disk answers again");
        });
    }

    /**
     * The disk fails for good (EIO), noticed at once (a read is sent to it). Only while the copies
     * are in sync, the other disk is sound and neither node is stalled: a copy that fails, or whose
     * failure goes unnoticed, while it holds the only newest data is a double failure, which no
     * two-copy design survives (ENOSPC on writes only is such a failure when no write comes).
     */
    private void failDisk(Node node) {
        if (!mayFailDisk(node)) {
            return;
        }
        faults++;
        node.diskFailed = true;
        log(node.name + "'s disk fails (EIO)" + (node.primary ? " (primary)" : " (backup)"));
        node.disk.failing(true);
        node.volume.read(0, ByteBuffer.allocate(BLOCK));
    }

    /** A disk may fail only while both nodes run, in sync, with sound, answering disks and no stall. */
    private boolean mayFailDisk(Node node) {
        return node.up && node.peer.up && !a.diskFailed && !b.diskFailed && !node.hung && !node.peer.hung
                && time.now() >= stallToA && time.now() >= stallToB
                && node.volume.state() == ReplicationState.SYNCED
                && node.peer.volume.state() == ReplicationState.SYNCED;
    }

    /**
     * The disk fills up (ENOSPC on every write; reads and syncs go on): the node notices at its
     * next write, a backup at the next replicated write. Drawn under the same conditions as
     * {@link #failDisk}; until it is noticed, the peer is not cut off by power (see {@link #crash}).
     */
    private void fillDisk(Node node) {
        if (!mayFailDisk(node)) {
            return;
        }
        faults++;
        node.diskFailed = true;
        log(node.name + "'s disk is full (ENOSPC on writes)" + (node.primary ? " (primary)" : " (backup)"));
        node.disk.full(true);
    }

    /**
     * Rule 5: a primary whose copy failed hands its role to a backup whose copy is up to date,
     * once it has drained what it was sent (a planned handover: the old one demotes, then the new
     * one promotes).
     */
    private void failover() {
        Node old = serving();
        if (old != null && !handingOver && old.volume.dataState() == DataState.FAILED && old.peer.up
                && session != null && old.peer.volume.dataState() == DataState.UP_TO_DATE) {
            handingOver = true;
            old.draining = true;
            log(old.name + " hands the primary role to " + old.peer.name + " (its copy failed)");
            net.after(MS, () -> completeHandover(old, old.owner, time.now()));
        }
        net.after(100 * MS, this::failover);
    }

    private void completeHandover(Node old, String owner, long began) {
        Node next = old.peer;
        if (!old.up || !old.owner.equals(owner)) {
            // It went down meanwhile: the takeover rule decides.
            old.draining = false;
            handingOver = false;
            log("the handover ends: " + old.name + " went down");
            return;
        }
        if (!next.up || next.volume.dataState() != DataState.UP_TO_DATE) {
            old.draining = false;
            handingOver = false;
            log("the handover is abandoned: " + next.name + " is " + (next.up ? next.volume.dataState() : "down"));
            return;
        }
        if (outstanding.getOrDefault(owner, 0) > 0) {
            net.after(MS, () -> completeHandover(old, owner, began));
            return;
        }
        old.primary = false;
        old.draining = false;
        old.volume.roleChanged();
        next.primary = true;
        next.volume.roleChanged();
        handingOver = false;
        log(next.name + " is primary after a handover of " + (time.now() - began) / MS + " ms");
    }

    /** Once no longer primary, a node whose disk failed gets a blank one and a full resync. */
    private void replaceFailedDisks() {
        boolean waiting = false;
        for (Node node : List.of(a, b)) {
            if (!node.diskFailed) {
                continue;
            }
            if (node.primary) {
                waiting = true;
                continue;
            }
            log(node.name + "'s failed disk is replaced by a blank one");
            if (node.up) {
                closeSession(node.name + " stops for its new disk");
                node.stop();
            }
            try {
                MoreFiles.deleteRecursively(node.directory, RecursiveDeleteOption.ALLOW_INSECURE);
            } catch (NoSuchFileException e) {
                // Never opened: nothing to remove.
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            node.disk = new SimDisk((int) SIZE);
            node.diskFailed = false;
            node.start();
        }
        if (waiting) {
            net.after(100 * MS, this::replaceFailedDisks);
        }
    }

    private void cutLink(long downNanos) {
        faults++;
        log("link cut for " + downNanos / MS + " ms");
        linkCut = true;
        closeSession("the link was cut");
        net.after(downNanos, () -> {
            linkCut = false;
            log("link back");
        });
    }

    private void crash(Node node, boolean powerCut, long downNanos) {
        if (!node.up) {
            return;
        }
        if (powerCut && node.peer.diskFailed
                && (node.peer.primary || node.peer.volume == null || node.peer.volume.dataState() != DataState.FAILED)) {
            // The other disk failed, and either that node serves from this node's copy or it has
            // not noticed yet (a backup notices at its next write): a power cut here loses
            // acknowledged writes that no readable copy holds, a double failure.
            return;
        }
        faults++;
        log(node.name + (powerCut ? " loses power" : " crashes") + (node.primary ? " (primary)" : " (backup)")
                + " for " + downNanos / MS + " ms");
        closeSession(node.name + " went down");
        node.stop();
        if (powerCut) {
            node.disk.powerCut();
            powerCuts.add(time.now());
        }
        if (node.primary) {
            net.after(DETECTION, () -> takeOverFrom(node));
        }
        net.after(downNanos, () -> {
            if (!node.up) {
                node.start();
            }
        });
    }

    private void takeOverFrom(Node old) {
        Node candidate = old.peer;
        if (old.up || !old.primary || !candidate.up) {
            return;
        }
        DataState data = candidate.volume.dataState();
        if (!candidate.heardPrimarySinceStart || data != DataState.UP_TO_DATE) {
            log(candidate.name + " does not take over: its copy is " + data
                    + (candidate.heardPrimarySinceStart ? "" : ", and it has not heard the primary since it started"));
            return;
        }
        old.primary = false;
        candidate.primary = true;
        log(candidate.name + " takes over (its copy is " + data + ")");
        candidate.volume.roleChanged();
    }

    private void heal() {
        log("faults end");
        linkCut = false;
        stallToA = 0;
        stallToB = 0;
        for (Node node : List.of(a, b)) {
            if (!node.up) {
                node.start();
            }
        }
        replaceFailedDisks();
        // Quiet time, then the client stops and the final check waits for the pair to converge.
        client.after(15_000 * MS, () -> clientRunning = false);
    }

    // ------------------------------------------------------------------------------------------
    // The data channel and the heartbeats

    private void maintainLink() {
        if (session == null && !linkCut && a.up && b.up && time.now() >= stallToA && time.now() >= stallToB) {
            session = new Session(a, b);
            log("data channel up (" + a.owner + ", " + b.owner + ")");
            Session opened = session;
            a.volume.peerConnected(opened.toward(b));
            b.volume.peerConnected(opened.toward(a));
        }
        net.after(20 * MS, this::maintainLink);
    }

    private void closeSession(String why) {
        Session closing = session;
        if (closing == null) {
            return;
        }
        session = null;
        closing.open = false;
        log("data channel down: " + why);
        for (Node node : List.of(a, b)) {
            String owner = closing.owner(node);
            if (node.up && node.owner.equals(owner)) {
                node.volume.peerLost();
            }
        }
    }

    /** The primary's heartbeat tells the backup whether the primary writes without it. */
    private void heartbeat() {
        Node primary = a.primary ? a : b.primary ? b : null;
        if (primary != null && primary.up && primary.peer.up) {
            primary.peer.volume.peerDegraded(primary.volume.holdsWritesThePeerLacks());
            primary.peer.heardPrimarySinceStart = true;
        }
        net.after(10 * MS, this::heartbeat);
    }

    private final class Session {
        final String ownerA;
        final String ownerB;
        boolean open = true;
        long lastToA;
        long lastToB;

        Session(Node a, Node b) {
            this.ownerA = a.owner;
            this.ownerB = b.owner;
        }

        String owner(Node node) {
            return node == a ? ownerA : ownerB;
        }

        /** The end whose frames go to a node. */
        ReplicatedVolume.PeerSession toward(Node target) {
            return new ReplicatedVolume.PeerSession() {
                @Override
                public boolean send(ByteBuf frame) {
                    if (!open) {
                        frame.release();
                        return false;
                    }
                    FrameType type = FrameType.fromCode(frame.getUnsignedByte(frame.readerIndex() + 5));
                    int length = frame.getInt(frame.readerIndex() + 8);
                    ByteBuf payload = frame.retainedSlice(frame.readerIndex() + FrameFormat.HEADER_BYTES, length);
                    frame.release();
                    // TCP: in order, after 0.2-3.2 ms (a loaded link: writes in flight when a node
                    // goes down are the cases that matter), more for a longer frame.
                    long at = time.now() + 200_000 + random.nextInt(3_000_000) + length * 2L;
                    at = Math.max(at, target == a ? lastToA : lastToB);
                    at = Math.max(at, target == a ? stallToA : stallToB);
                    if (target == a) {
                        lastToA = at;
                    } else {
                        lastToB = at;
                    }
                    String owner = owner(target);
                    net.after(at - time.now(), () -> {
                        if (open && target.up && target.owner.equals(owner)) {
                            target.volume.onFrame(type, payload);
                        } else {
                            payload.release();
                        }
                    });
                    return true;
                }

                @Override
                public ByteBufAllocator allocator() {
                    return allocator;
                }

                @Override
                public boolean writable() {
                    return true;
                }

                @Override
                public void reset(String reason) {
                    if (open) {
                        closeSession("reset: " + reason);
                    }
                }
            };
        }
    }

    // ------------------------------------------------------------------------------------------
    // The client and the checker

    private Node serving() {
        for (Node node : List.of(a, b)) {
            if (node.up && node.primary && !node.draining) {
                return node;
            }
        }
        return null;
    }

    private void clientStep() {
        if (!clientRunning) {
            return;
        }
        Node node = serving();
        if (node != null && outstanding.getOrDefault(node.owner, 0) < 8) {
            int kind = random.nextInt(100);
            if (kind < 55) {
                write(node);
            } else if (kind < 63) {
                flush(node);
            } else {
                read(node);
            }
        }
        client.after((1 + random.nextInt(5)) * MS, this::clientStep);
    }

    private void write(Node node) {
        int count = 1 + random.nextInt(4);
        int first = random.nextInt(BLOCKS - count + 1);
        boolean fua = random.nextInt(5) == 0;
        WriteOp op = new WriteOp(nextTag++, time.now(), fua);
        ByteBuffer data = ByteBuffer.allocate(count * BLOCK);
        for (int i = 0; i < count; i++) {
            data.putLong(i * BLOCK, op.tag);
            data.putLong(i * BLOCK + 8, first + i);
            history.get(first + i).add(op);
        }
        String owner = node.owner;
        outstanding.merge(owner, 1, Integer::sum);
        node.volume.write((long) first * BLOCK, data, fua).whenComplete((ignored, error) -> {
            outstanding.merge(owner, -1, Integer::sum);
            if (error == null) {
                op.ackedNanos = time.now();
                writesAcknowledged++;
            }
        });
    }

    private void flush(Node node) {
        long issued = time.now();
        String owner = node.owner;
        outstanding.merge(owner, 1, Integer::sum);
        node.volume.flush().whenComplete((ignored, error) -> {
            outstanding.merge(owner, -1, Integer::sum);
            if (error == null) {
                flushes.add(new long[] {issued, time.now()});
            }
        });
    }

    private void read(Node node) {
        int count = 1 + random.nextInt(4);
        int first = random.nextInt(BLOCKS - count + 1);
        long began = time.now();
        ByteBuffer into = ByteBuffer.allocate(count * BLOCK);
        String owner = node.owner;
        outstanding.merge(owner, 1, Integer::sum);
        node.volume.read((long) first * BLOCK, into).whenComplete((ignored, error) -> {
            outstanding.merge(owner, -1, Integer::sum);
            if (error == null) {
                for (int i = 0; i < count; i++) {
                    checkBlock(first + i, into.getLong(i * BLOCK), into.getLong(i * BLOCK + 8), began,
                            "read from " + node.name);
                }
                readsChecked++;
            }
        });
    }

    /** When a write became durable (FUA, or an acknowledged flush issued after its acknowledgement). */
    private long durableNanos(WriteOp op) {
        if (op.fua) {
            return op.ackedNanos;
        }
        long best = Long.MAX_VALUE;
        for (long[] flush : flushes) {
            if (flush[0] >= op.ackedNanos) {
                best = Math.min(best, flush[1]);
            }
        }
        return best;
    }

    /** Whether an acknowledged write must still be there: no power cut since it before it was durable. */
    private boolean mustSurvive(WriteOp op) {
        if (op.ackedNanos < 0) {
            return op.tag == 0;
        }
        long durable = durableNanos(op);
        for (long cut : powerCuts) {
            if (cut > op.ackedNanos && durable > cut) {
                return false;
            }
        }
        return true;
    }

    private void checkBlock(int block, long tag, long blockNumber, long beganNanos, String what) {
        List<WriteOp> writes = history.get(block);
        int found = -1;
        for (int i = 0; i < writes.size(); i++) {
            if (writes.get(i).tag == tag) {
                found = i;
            }
        }
        if (found < 0 || (tag != 0 && blockNumber != block)) {
            violation(what + ": block " + block + " holds tag " + tag + " for block " + blockNumber
                    + ", which no write put there");
            return;
        }
        int floor = 0;
        for (int i = writes.size() - 1; i > 0; i--) {
            WriteOp op = writes.get(i);
            if (op.ackedNanos >= 0 && op.ackedNanos < beganNanos && mustSurvive(op)) {
                floor = i;
                break;
            }
        }
        if (found < floor) {
            WriteOp lost = writes.get(floor);
            violation(what + ": block " + block + " holds write " + tag + " (the " + found
                    + "th), older than write " + lost.tag + " acknowledged at " + lost.ackedNanos / MS + " ms"
                    + (lost.fua ? " with FUA" : "") + ", before the read began at " + beganNanos / MS + " ms");
        }
    }

    private void finalCheck() {
        Node primary = serving();
        if (primary == null) {
            violation("no node serves at the end (a " + (a.up ? "up" : "down") + ", b " + (b.up ? "up" : "down") + ")");
            return;
        }
        for (Node node : List.of(a, b)) {
            if (node.volume.state() != ReplicationState.SYNCED) {
                violation("the pair did not converge: " + node.name + " is " + node.volume.state() + " ("
                        + node.volume.dataState() + ")");
            }
        }
        byte[] left = a.disk.contents();
        byte[] right = b.disk.contents();
        ByteBuffer served = ByteBuffer.wrap(primary == a ? left : right);
        for (int block = 0; block < BLOCKS; block++) {
            checkBlock(block, served.getLong(block * BLOCK), served.getLong(block * BLOCK + 8), END,
                    "at the end, " + primary.name + "'s copy");
        }
        if (violations.isEmpty() && !Arrays.equals(left, right)) {
            int block = 0;
            while (block < BLOCKS && Arrays.equals(left, block * BLOCK, (block + 1) * BLOCK, right, block * BLOCK,
                    (block + 1) * BLOCK)) {
                block++;
            }
            violation("the copies differ after the pair converged, first at block " + block);
        }
    }

    private void violation(String text) {
        log("VIOLATION " + text);
        violations.add(text);
    }

    private void log(String line) {
        trace.add(String.format("%9.3fs %s", time.now() / 1e9, line));
    }

    // ------------------------------------------------------------------------------------------
    // A node: its disk, its metadata directory, and the running volume of its current process

    private final class Node implements ReplicatedVolume.Host {
        final String name;
        final Path directory;
        final int tag;
        SimDisk disk = new SimDisk((int) SIZE);
        Node peer;
        /** Its disk failed (a fault drawn) and waits to be replaced. */
        boolean diskFailed;
        /** Handing its primary role over: the client sends it nothing new. */
        boolean draining;
        /** Its disk hangs (its I/O threads are held). */
        boolean hung;
        ReplicatedVolume volume;
        String owner = "";
        int incarnation;
        boolean up;
        boolean primary;
        boolean heardPrimarySinceStart;

        Node(String name, Path directory, int tag) {
            this.name = name;
            this.directory = directory;
            this.tag = tag;
        }

        void start() {
            incarnation++;
            owner = name + "#" + incarnation;
            heardPrimarySinceStart = false;
            Scheduler io = time.scheduler(owner);
            Scheduler reads = time.scheduler(owner + "/reads");
            try {
                volume = new ReplicatedVolume(spec, directory, disk, this, reads::execute, tag, io);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            up = true;
            log(name + " starts (" + owner + ", " + (primary ? "primary" : "backup") + ", copy "
                    + volume.dataState() + ")");
        }

        void stop() {
            up = false;
            hung = false;
            time.drop(owner);
            time.drop(owner + "/reads");
            volume = null;
        }

        @Override
        public boolean mayServe() {
            return up && primary;
        }

        @Override
        public boolean primary() {
            return primary;
        }

        @Override
        public boolean paired() {
            return true;
        }

        @Override
        public long nanoTime() {
            return time.now();
        }

        @Override
        public CompletableFuture<Void> announceDegraded() {
            CompletableFuture<Void> known = new CompletableFuture<>();
            String self = owner;
            // The degraded flag rides the next heartbeats; the fence completes when the peer has
            // heard it, or, if the peer is down, once it has been silent past any takeover.
            net.after((2 + random.nextInt(10)) * MS, () -> {
                if (peer.up) {
                    peer.volume.peerDegraded(true);
                    log(self + ": the degraded fence completes (" + peer.name + " knows)");
                    known.complete(null);
                } else {
                    net.after(DETECTION * 2, () -> {
                        log(self + ": the degraded fence completes (" + peer.name + " silent)");
                        known.complete(null);
                    });
                }
            });
            return known;
        }

        @Override
        public void diskFailed(String volumeName, String cause) {
            log(name + ": disk failed: " + cause);
        }

        @Override
        public void stateChanged(String volumeName, ReplicationState from, ReplicationState to, String reason) {
            log(owner + ": " + from + " -> " + to + ": " + reason);
        }

        @Override
        public void resyncProgress(String volumeName, ResyncProgress progress) {
        }

        @Override
        public long resyncRateBytesPerSecond() {
            return 0;
        }

        @Override
        public long ackTimeoutNanos() {
            return 2_000 * MS;
        }

        @Override
        public void audit(String action, String detail, String outcome) {
            log(owner + ": audit " + action + ": " + detail + " -> " + outcome);
        }
    }
}
