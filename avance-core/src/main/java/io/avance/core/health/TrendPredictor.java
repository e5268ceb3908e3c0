package io.avance.core.health;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.OptionalLong;

/**
 * Fits a straight line to recent readings of one sensor and tells when it will cross a failure
 * threshold.
 *
 * <p>Least squares over the last {@code maxSamples} readings. A line that moves away from the
 * threshold, or too few readings, predicts nothing. Not thread-safe: owned by the
 * {@link FaultRegistry}, which serialises access.
 */
public final class TrendPredictor {

    private final int minSamples;
    private final int maxSamples;
    private final Deque<double[]> samples = new ArrayDeque<>();

    /**
     * Creates a predictor.
     *
     * @param minSamples the fewest readings before predicting
     * @param maxSamples how many recent readings to fit
     */
    public TrendPredictor(int minSamples, int maxSamples) {
        this.minSamples = minSamples;
        this.maxSamples = maxSamples;
    }

    /**
     * Adds a reading.
     *
     * @param timeNanos when it was taken
     * @param value     the reading
     */
    public void add(long timeNanos, double value) {
        if (!samples.isEmpty() && timeNanos <= (long) samples.peekLast()[0]) {
            return;
        }
        samples.addLast(new double[] {timeNanos, value});
        while (samples.size() > maxSamples) {
            samples.removeFirst();
        }
    }

    /**
     * The last reading.
     *
     * @return the value, or NaN if none
     */
    public double lastValue() {
        return samples.isEmpty() ? Double.NaN : samples.peekLast()[1];
    }

    /**
     * Predicts when the fitted line crosses a threshold.
     *
     * @param threshold   the failure threshold
     * @param failsAbove  true if readings above the threshold mean failure (a temperature), false
     *                    if readings below it do (a fan speed)
     * @param nowNanos    the current reading of the clock the samples were taken with
     * @return nanoseconds from now until the crossing, zero if the fitted line has already crossed,
     *         or empty if the line does not head for the threshold or there are too few samples
     */
    public OptionalLong nanosUntilCrossing(double threshold, boolean failsAbove, long nowNanos) {
        int n = samples.size();
        if (n < minSamples) {
            return OptionalLong.empty();
        }
        // Centre time on the first sample so that the sums stay well conditioned.
        double origin = samples.peekFirst()[0];
        double sumT = 0;
        double sumV = 0;
        for (double[] sample : samples) {
            sumT += sample[0] - origin;
            sumV += sample[1];
        }
        double meanT = sumT / n;
        double meanV = sumV / n;
        double covariance = 0;
        double variance = 0;
        for (double[] sample : samples) {
            double dt = sample[0] - origin - meanT;
            covariance += dt * (sample[1] - meanV);
            variance += dt * dt;
        }
        if (variance == 0) {
            return OptionalLong.empty();
        }
        double slopePerNano = covariance / variance;
        double valueNow = meanV + slopePerNano * (nowNanos - origin - meanT);
        boolean crossed = failsAbove ? valueNow >= threshold : valueNow <= threshold;
        if (crossed) {
            return OptionalLong.of(0);
        }
        boolean heading = failsAbove ? slopePerNano > 0 : slopePerNano < 0;
        if (!heading) {
            return OptionalLong.empty();
        }
        double nanos = (threshold - valueNow) / slopePerNano;
        return OptionalLong.of(nanos >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) nanos);
    }
}
