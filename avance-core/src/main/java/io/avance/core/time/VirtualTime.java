package io.avance.core.time;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * One virtual clock and the schedulers of several owners (a simulated node's controller, its
 * volumes, its supervisor) that run on it: every task of every owner is ordered by its due time,
 * then by when it was submitted, and runs on the caller's thread when {@link #runUntil} reaches
 * it. Nothing depends on real time or on thread scheduling, so a seed replays exactly.
 *
 * <p>Owners can be held (a frozen process: its tasks wait, the clock goes on) and dropped (a
 * crashed process: its pending tasks vanish, as its threads did, and whatever it is still handed,
 * a callback of a future it left behind, never runs). A restarted process takes a new owner name.
 *
 * <p>Not thread-safe: the simulation's one thread submits and runs everything.
 */
public final class VirtualTime {

    private final ManualClock clock;
    private final PriorityQueue<Task> queue = new PriorityQueue<>();
    private final Set<String> held = new HashSet<>();
    private final Set<String> dropped = new HashSet<>();
    private long submitted;
    private long ran;

    /**
     * Virtual time starting at monotonic zero.
     */
    public VirtualTime() {
        this(new ManualClock());
    }

    /**
     * Virtual time over a clock that only this object moves from now on.
     *
     * @param clock the clock
     */
    public VirtualTime(ManualClock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** @return the clock (both monotonic and wall time) */
    public ManualClock clock() {
        return clock;
    }

    /** @return the monotonic reading now */
    public long now() {
        return clock.nanoTime();
    }

    /** @return how many tasks have run */
    public long tasksRun() {
        return ran;
    }

    /** @return how many tasks wait, held ones included */
    public int pending() {
        return queue.size();
    }

    /**
     * A scheduler for one owner. Several calls with one owner give schedulers that share its
     * hold and drop.
     *
     * @param owner who the tasks belong to, such as {@code alpha}
     * @return the scheduler
     */
    public Scheduler scheduler(String owner) {
        Objects.requireNonNull(owner, "owner");
        return new Scheduler() {
            @Override
            public long nanoTime() {
                return clock.nanoTime();
            }

            @Override
            public void execute(Runnable task) {
                submit(owner, clock.nanoTime(), task);
            }

            @Override
            public Timer after(long delayNanos, Runnable task) {
                Task scheduled = submit(owner, clock.nanoTime() + Math.max(0, delayNanos), task);
                return () -> {
                    boolean pending = !scheduled.done && !scheduled.cancelled;
                    scheduled.cancelled = true;
                    return pending;
                };
            }
        };
    }

    /**
     * Holds an owner's tasks: those due meanwhile run, in their order, after {@link #release}.
     *
     * @param owner the owner
     */
    public void hold(String owner) {
        held.add(owner);
    }

    /**
     * Lets a held owner's tasks run again; those already due run at the next step, at the time
     * they are reached (late, as a thawed process's timers are).
     *
     * @param owner the owner
     */
    public void release(String owner) {
        if (held.remove(owner)) {
            long now = clock.nanoTime();
            List<Task> overdue = new ArrayList<>();
            queue.removeIf(task -> task.owner.equals(owner) && task.dueNanos < now && overdue.add(task));
            for (Task task : overdue) {
                // Same submission order among themselves, and ahead of what was submitted for now.
                task.dueNanos = now;
                queue.add(task);
            }
        }
    }

    /**
     * Drops every pending task of an owner, as a crash ends its threads: nothing of that owner
     * runs again, also what is submitted to it later.
     *
     * @param owner the owner
     * @return how many tasks were dropped
     */
    public int drop(String owner) {
        held.remove(owner);
        dropped.add(owner);
        int before = queue.size();
        queue.removeIf(task -> task.owner.equals(owner));
        return before - queue.size();
    }

    /**
     * Runs every task due up to a time, in order, moving the clock to each task's due time, then
     * to that time. Tasks that tasks submit run too if they are due by then.
     *
     * @param untilNanos the monotonic time to reach; not before now
     * @return how many tasks ran
     */
    public long runUntil(long untilNanos) {
        if (untilNanos < clock.nanoTime()) {
            throw new IllegalArgumentException("virtual time never goes back: " + untilNanos + " < "
                    + clock.nanoTime());
        }
        long before = ran;
        while (true) {
            Task next = nextRunnable(untilNanos);
            if (next == null) {
                break;
            }
            if (next.dueNanos > clock.nanoTime()) {
                clock.advance(next.dueNanos - clock.nanoTime());
            }
            next.done = true;
            ran++;
            next.action.run();
        }
        clock.advance(untilNanos - clock.nanoTime());
        return ran - before;
    }

    /**
     * Runs every task due now (and those they submit for now).
     *
     * @return how many tasks ran
     */
    public long runReady() {
        return runUntil(clock.nanoTime());
    }

    /** The first task due by the limit whose owner is not held; cancelled tasks are discarded. */
    private Task nextRunnable(long untilNanos) {
        Task found = null;
        List<Task> skipped = new ArrayList<>();
        while (!queue.isEmpty() && queue.peek().dueNanos <= untilNanos) {
            Task task = queue.poll();
            if (task.cancelled) {
                continue;
            }
            if (held.contains(task.owner)) {
                skipped.add(task);
                continue;
            }
            found = task;
            break;
        }
        queue.addAll(skipped);
        return found;
    }

    private Task submit(String owner, long dueNanos, Runnable action) {
        Task task = new Task(owner, dueNanos, ++submitted, Objects.requireNonNull(action, "task"));
        if (dropped.contains(owner)) {
            task.cancelled = true;
        } else {
            queue.add(task);
        }
        return task;
    }

    private static final class Task implements Comparable<Task> {
        final String owner;
        long dueNanos;
        final long sequence;
        final Runnable action;
        boolean cancelled;
        boolean done;

        Task(String owner, long dueNanos, long sequence, Runnable action) {
            this.owner = owner;
            this.dueNanos = dueNanos;
            this.sequence = sequence;
            this.action = action;
        }

        @Override
        public int compareTo(Task other) {
            int byTime = Long.compare(dueNanos, other.dueNanos);
            return byTime != 0 ? byTime : Long.compare(sequence, other.sequence);
        }
    }
}
