package io.avance.core.replication;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded simulations of two real replicated volumes under crashes, power cuts and resets of the
 * data channel, with every read and the final copies checked against the writes acknowledged
 * ({@link VolumePairSimulation}). Fixed seeds: a commit passes or fails the same way every run.
 */
class VolumePairSimulationTest {

    private static final int SEEDS = Integer.getInteger("avance.volumeSim.seeds", 300);
    private static final long FIRST_SEED = Long.getLong("avance.volumeSim.firstSeed", 20261207L);
    /** Held, so that the quieter level stays while the simulations log thousands of state changes. */
    private static final Logger REPLICATION = Logger.getLogger("io.avance.core.replication");
    private static Level before;
    private static ResourceLeakDetector.Level leakDetection;

    @BeforeAll
    static void quiet() {
        before = REPLICATION.getLevel();
        REPLICATION.setLevel(Level.SEVERE);
        // Sampled leak detection: paranoid records every buffer of every frame and triples the
        // time; a leak still shows up within a few seeds.
        leakDetection = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
    }

    @AfterAll
    static void restore() {
        REPLICATION.setLevel(before);
        ResourceLeakDetector.setLevel(leakDetection);
    }

    @Test
    void everyAcknowledgedWriteIsReadBackAndTheCopiesConverge(@TempDir Path directory) {
        List<String> failures = new ArrayList<>();
        long started = System.nanoTime();
        long writes = 0;
        long reads = 0;
        for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
            VolumePairSimulation.Result result = VolumePairSimulation.run(seed, directory.resolve(Long.toString(seed)));
            writes += result.writesAcknowledged();
            reads += result.readsChecked();
            if (!result.passed()) {
                failures.add(result.describe());
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("volume pair simulation: %d seeds in %.1f s, %d writes acknowledged, %d reads checked, %d"
                + " failing%n", SEEDS, seconds, writes, reads, failures.size());
        assertTrue(writes > SEEDS * 100L, "the client hardly wrote: " + writes + " writes in " + SEEDS + " seeds");
        assertTrue(failures.isEmpty(), failures.size() + " of " + SEEDS + " seeds failed; the first:\n"
                + (failures.isEmpty() ? "" : failures.get(0)));
    }
}
