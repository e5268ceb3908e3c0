package io.avance.api.failover;

import io.avance.api.NodeId;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A quorum witness's answer to a claim.
 *
 * @param outcome granted, refused or unreachable
 * @param epoch   the epoch the witness now records
 * @param holder  the node that holds it, if any
 * @param lease   how long the grant lasts, counted from when the claim was sent; zero unless
 *                granted
 */
public record WitnessAnswer(Outcome outcome, long epoch, Optional<NodeId> holder, Duration lease) {

    /**
     * Validates the fields.
     */
    public WitnessAnswer {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(holder, "holder");
        Objects.requireNonNull(lease, "lease");
    }

    /**
     * An answer for when the witness could not be reached.
     *
     * @return an unreachable answer
     */
    public static WitnessAnswer unreachable() {
        return new WitnessAnswer(Outcome.UNREACHABLE, 0, Optional.empty(), Duration.ZERO);
    }

    /** The outcomes of a claim. */
    public enum Outcome {
        /** The claimant holds the epoch until the lease ends. */
        GRANTED,
        /** Another node holds that epoch, a later one, or a lease that has not ended. */
        REFUSED,
        /** No answer. */
        UNREACHABLE
    }
}
