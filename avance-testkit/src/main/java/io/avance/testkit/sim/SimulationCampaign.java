package io.avance.testkit.sim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs whole-pair properties over many seeds on several threads: the long campaigns that look
 * for the failures a test run's fixed seeds did not draw ({@code avance sim}).
 *
 * <p>Seeds {@code firstSeed}, {@code firstSeed + 1}, ... are checked for every property; each
 * simulation mixes its seed before use, so consecutive seeds are unrelated runs. A failure is
 * reported as soon as it is found, with the command that replays it. Each simulation is confined
 * to the thread that runs it; the campaign itself is not reusable.
 */
public final class SimulationCampaign {

    /** Held so that the level set on it is not lost when the logging framework drops the logger. */
    private static final Logger ENGINE_LOG = Logger.getLogger("io.avance");
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * One seed that broke a property.
     *
     * @param property the property
     * @param seed     the seed
     * @param liveness whether the pair failed to recover (rather than broke a safety rule)
     * @param message  the failure's whole message: replay command, what broke, the trace
     */
    public record Failure(SimulationProperty property, long seed, boolean liveness, String message) {
    }

    /**
     * What a campaign did.
     *
     * @param seeds          simulations run (seeds times properties)
     * @param simulatedNanos simulated time, summed over every simulation
     * @param wallNanos      how long the campaign took
     * @param failures       every failing seed, in the order found
     */
    public record Report(long seeds, long simulatedNanos, long wallNanos, List<Failure> failures) {

        /** @return simulations per wall-clock second */
        public double seedsPerSecond() {
            return wallNanos == 0 ? 0 : seeds / (wallNanos / 1e9);
        }

        /** @return simulated seconds per wall-clock second, over all threads */
        public double simulatedSecondsPerWallSecond() {
            return wallNanos == 0 ? 0 : (double) simulatedNanos / wallNanos;
        }
    }

    private final List<SimulationProperty> properties;
    private final long firstSeed;
    private final long seedsPerProperty;
    private final int jobs;
    private final Consumer<String> out;
    private final AtomicLong next = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong simulated = new AtomicLong();
    private final List<Failure> failures = Collections.synchronizedList(new ArrayList<>());

    /**
     * Prepares a campaign.
     *
     * @param properties       the properties to check
     * @param firstSeed        the first seed
     * @param seedsPerProperty how many seeds each property is checked for
     * @param jobs             threads to run simulations on
     * @param out              where progress and failures are printed, one line or block per call
     */
    public SimulationCampaign(List<SimulationProperty> properties, long firstSeed, long seedsPerProperty, int jobs,
                              Consumer<String> out) {
        if (properties.isEmpty()) {
            throw new IllegalArgumentException("no property to check");
        }
        if (seedsPerProperty < 1) {
            throw new IllegalArgumentException("seeds must be at least 1, was " + seedsPerProperty);
        }
        if (jobs < 1) {
            throw new IllegalArgumentException("jobs must be at least 1, was " + jobs);
        }
        this.properties = List.copyOf(properties);
        this.firstSeed = firstSeed;
        this.seedsPerProperty = seedsPerProperty;
        this.jobs = jobs;
        this.out = Objects.requireNonNull(out, "out");
    }

    /**
     * Runs every seed of every property.
     *
     * @return what was found
     * @throws InterruptedException if interrupted while waiting for the threads
     */
    public Report run() throws InterruptedException {
        Level previous = ENGINE_LOG.getLevel();
        // The simulations would each log thousands of lines; failures carry their own trace.
        ENGINE_LOG.setLevel(Level.OFF);
        long total = seedsPerProperty * properties.size();
        long start = System.nanoTime();
        ExecutorService threads = Executors.newFixedThreadPool(jobs, runnable -> {
            Thread thread = new Thread(runnable, "avance-sim");
            thread.setDaemon(true);
            return thread;
        });
        try {
            for (int i = 0; i < jobs; i++) {
                threads.execute(() -> work(total));
            }
            threads.shutdown();
            long lastProgress = start;
            while (!threads.awaitTermination(1, TimeUnit.SECONDS)) {
                long now = System.nanoTime();
                if (now - lastProgress >= PROGRESS_NANOS) {
                    lastProgress = now;
                    out.accept(progress(total, now - start));
                }
            }
        } finally {
            threads.shutdownNow();
            ENGINE_LOG.setLevel(previous);
        }
        List<Failure> found;
        synchronized (failures) {
            found = List.copyOf(failures);
        }
        return new Report(done.get(), simulated.get(), System.nanoTime() - start, found);
    }

    private void work(long total) {
        while (true) {
            long index = next.getAndIncrement();
            if (index >= total) {
                return;
            }
            SimulationProperty property = properties.get((int) (index % properties.size()));
            long seed = firstSeed + index / properties.size();
            try {
                SimulationResult result = property.check(seed);
                simulated.addAndGet(result.simulatedNanos());
            } catch (SimulationFailure failure) {
                failures.add(new Failure(property, seed, failure.liveness(), failure.getMessage()));
                out.accept("FAILED " + property.cliName() + " seed " + seed + " ("
                        + (failure.liveness() ? "liveness" : "SAFETY") + "): " + firstLines(failure.getMessage(), 3));
            } catch (RuntimeException | Error e) {
                // An exception out of the engine is a failure too: the node would have crashed.
                String message = property.replayCommand(seed) + "\n" + e;
                failures.add(new Failure(property, seed, false, message));
                out.accept("FAILED " + property.cliName() + " seed " + seed + " (exception): " + message);
            }
            done.incrementAndGet();
        }
    }

    private String progress(long total, long elapsedNanos) {
        long finished = done.get();
        return String.format("%,d of %,d simulations, %d failing, %.1f per second", finished, total, failures.size(),
                finished / (elapsedNanos / 1e9));
    }

    private static String firstLines(String text, int lines) {
        int end = -1;
        for (int i = 0; i < lines; i++) {
            int next = text.indexOf('\n', end + 1);
            if (next < 0) {
                return text;
            }
            end = next;
        }
        return text.substring(0, end);
    }
}
