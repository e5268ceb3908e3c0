package io.avance.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Two copies of a volume through random histories of writes, outages, resyncs and role swaps:
 * whenever they meet, the generation comparison must agree with what actually happened.
 */
class GenerationProperties {

    private static final class Copy {
        Generation generation = Generation.empty();
        boolean wroteSinceSync;
    }

    @Property(tries = 3000)
    void theDecisionMatchesWhoWroteSinceTheCopiesLastAgreed(@ForAll long seed,
                                                             @ForAll @IntRange(min = 1, max = 40) int steps) {
        SplittableRandom random = new SplittableRandom(seed);
        Copy a = new Copy();
        Copy b = new Copy();
        boolean connected = true;
        boolean aPrimary = true;
        for (int step = 0; step < steps; step++) {
            switch (random.nextInt(4)) {
                case 0 -> {
                    // The primary writes: replicated if connected, else tracked in a new generation.
                    Copy primary = aPrimary ? a : b;
                    if (!connected) {
                        write(primary, random);
                    }
                }
                case 1 -> connected = false;
                case 2 -> {
                    // While apart, the other node may take over and write too.
                    if (!connected) {
                        aPrimary = random.nextBoolean();
                        write(aPrimary ? a : b, random);
                    }
                }
                default -> {
                    if (!connected) {
                        connected = true;
                        Copy primary = aPrimary ? a : b;
                        Copy backup = aPrimary ? b : a;
                        SyncDecision decision = SyncDecision.decide(primary.generation, backup.generation);
                        SyncDecision expected = primary.wroteSinceSync && backup.wroteSinceSync ? SyncDecision.SPLIT_BRAIN
                                : backup.wroteSinceSync ? SyncDecision.PRIMARY_BEHIND
                                : primary.wroteSinceSync ? SyncDecision.BITMAP : SyncDecision.IN_SYNC;
                        assertEquals(expected, decision, "seed " + seed + " step " + step + ": primary "
                                + primary.generation + ", backup " + backup.generation);
                        // Resolve: the primary's copy wins (the operator discards the backup's changes).
                        backup.generation = Generation.adoptedFrom(primary.generation);
                        primary.generation = primary.generation.inSync();
                        backup.generation = Generation.adoptedFrom(primary.generation);
                        primary.wroteSinceSync = false;
                        backup.wroteSinceSync = false;
                    }
                }
            }
        }
    }

    private static void write(Copy copy, SplittableRandom random) {
        copy.generation = copy.generation.rotated(random.nextLong() | 1);
        copy.wroteSinceSync = true;
    }

    @Property(tries = 200)
    void generationsSurviveTheirMetadataForm(@ForAll long current, @ForAll long bitmap, @ForAll long first) {
        Generation generation = new Generation(current, bitmap, List.of(first));
        assertEquals(generation, Generation.decode(generation.encode()));
    }
}
