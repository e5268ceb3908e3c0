package io.avance.api.migration;

import java.util.concurrent.CompletionStage;

/**
 * A migration under way. Thread-safe.
 */
public interface MigrationHandle {

    /**
     * The VM being migrated.
     *
     * @return its name
     */
    String vm();

    /**
     * Where the migration stands now.
     *
     * @return a snapshot of its progress
     */
    MigrationProgress progress();

    /**
     * Asks the migration to stop. Before the switch to the target, the VM keeps (or resumes)
     * running on the source; after it, cancelling has no effect.
     *
     * @return true if the migration will end as {@link MigrationPhase#CANCELLED}
     */
    boolean cancel();

    /**
     * The outcome. Completes normally with the report whatever the outcome; exceptionally only on
     * a bug.
     *
     * @return a stage with the report
     */
    CompletionStage<MigrationReport> result();
}
