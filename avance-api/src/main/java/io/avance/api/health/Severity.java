package io.avance.api.health;

/**
 * How much a fault hurts a node, with the weight it takes off the node's
 * {@link HealthScore} (out of {@value HealthScore#MAX}).
 *
 * <p>The weights are chosen so that one critical fault outweighs any plausible number of lesser
 * ones (it takes five major faults to cost as much), and so that one minor fault alone stays
 * inside the default comparison margin ({@value HealthScore#DEFAULT_MARGIN}) and never moves
 * the VMs.
 */
public enum Severity {
    /** Worth reporting; redundancy is intact (a fan running slow, a correctable memory error). */
    MINOR(10),
    /** Redundancy is lost; the node still works (one of two power supplies failed). */
    MAJOR(100),
    /** A function the node needs is gone (a disk failed, a public network is down). */
    CRITICAL(500);

    private final int weight;

    Severity(int weight) {
        this.weight = weight;
    }

    /**
     * The points a fault of this severity takes off the score.
     *
     * @return the weight, positive
     */
    public int weight() {
        return weight;
    }

    /**
     * The points a <em>predicted</em> fault of this severity takes off: half the weight, rounded
     * up, so that a prediction lowers the score but never as much as the failure itself.
     *
     * @return the weight of a predicted fault, positive
     */
    public int predictedWeight() {
        return (weight + 1) / 2;
    }
}
