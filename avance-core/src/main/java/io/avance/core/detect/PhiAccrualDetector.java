package io.avance.core.detect;

/**
 * The phi accrual failure detector (Hayashibara et al., 2004) for one stream of heartbeats.
 *
 * <p>It keeps the recent intervals between heartbeats and, at any moment, answers with
 * {@code phi = -log10(P(the next heartbeat is later than the time already waited))}, under a
 * normal distribution fitted to those intervals. Phi 1 means a one-in-ten chance the peer is just
 * late; phi 8 one in a hundred million. Two floors keep it from being too eager: the standard
 * deviation is never taken below {@code minStdDevNanos}, so perfectly regular heartbeats do not
 * make a tiny delay look fatal; and {@code acceptablePauseNanos} is added to the mean, a pause the
 * peer may take without suspicion.
 *
 * <p>Pure and not thread-safe: the owner passes every clock reading in and calls it from one
 * thread.
 */
public final class PhiAccrualDetector {

    private final long[] intervals;
    private final long minStdDevNanos;
    private final long acceptablePauseNanos;
    private int count;
    private int next;
    private long sum;
    private double sumOfSquares;
    private long lastArrivalNanos;
    private boolean started;

    /**
     * Creates a detector that has heard nothing yet.
     *
     * @param windowSize           how many recent intervals to fit, at least 2
     * @param expectedIntervalNanos the heartbeat interval, used as the first estimate
     * @param minStdDevNanos       the least standard deviation assumed, positive
     * @param acceptablePauseNanos a pause added to the mean interval, not negative
     */
    public PhiAccrualDetector(int windowSize, long expectedIntervalNanos, long minStdDevNanos,
                              long acceptablePauseNanos) {
        if (windowSize < 2 || expectedIntervalNanos <= 0 || minStdDevNanos <= 0 || acceptablePauseNanos < 0) {
            throw new IllegalArgumentException("bad detector parameters: window " + windowSize + ", interval "
                    + expectedIntervalNanos + ", min std dev " + minStdDevNanos + ", pause " + acceptablePauseNanos);
        }
        this.intervals = new long[windowSize];
        this.minStdDevNanos = minStdDevNanos;
        this.acceptablePauseNanos = acceptablePauseNanos;
        // Seed with two samples around the expected interval, so the first judgements are sane.
        record(expectedIntervalNanos - expectedIntervalNanos / 4);
        record(expectedIntervalNanos + expectedIntervalNanos / 4);
    }

    /**
     * Records a heartbeat's arrival.
     *
     * @param nowNanos when it arrived
     */
    public void heartbeat(long nowNanos) {
        if (started) {
            long interval = nowNanos - lastArrivalNanos;
            if (interval > 0) {
                record(interval);
            }
        }
        started = true;
        lastArrivalNanos = nowNanos;
    }

    /**
     * Forgets the last arrival, as when a connection is re-established: the next heartbeat starts
     * a new stream, and the gap before it is not an interval.
     */
    public void restart() {
        started = false;
    }

    /**
     * Tells whether any heartbeat has arrived since creation or the last {@link #restart()}.
     *
     * @return true once a heartbeat has been recorded
     */
    public boolean heard() {
        return started;
    }

    /**
     * The time since the last heartbeat.
     *
     * @param nowNanos the current reading
     * @return nanoseconds since the last arrival, or {@link Long#MAX_VALUE} if none
     */
    public long silenceNanos(long nowNanos) {
        return started ? Math.max(0, nowNanos - lastArrivalNanos) : Long.MAX_VALUE;
    }

    /**
     * The suspicion level now.
     *
     * @param nowNanos the current reading
     * @return phi, from 0 up; {@link Double#POSITIVE_INFINITY} if nothing was ever heard
     */
    public double phi(long nowNanos) {
        if (!started) {
            return Double.POSITIVE_INFINITY;
        }
        double elapsed = nowNanos - lastArrivalNanos;
        double mean = (double) sum / count + acceptablePauseNanos;
        double variance = sumOfSquares / count - ((double) sum / count) * ((double) sum / count);
        double stdDev = Math.max(Math.sqrt(Math.max(variance, 0)), minStdDevNanos);
        return phi(elapsed, mean, stdDev);
    }

    /**
     * Tells whether the peer is suspected at a threshold.
     *
     * @param nowNanos  the current reading
     * @param threshold the phi at which to suspect
     * @return true if {@code phi(now) >= threshold}
     */
    public boolean suspects(long nowNanos, double threshold) {
        return phi(nowNanos) >= threshold;
    }

    /**
     * Phi for a normal distribution, through the logistic approximation of its tail
     * (error below 0.0002 over the whole range), computed on the side that keeps precision.
     */
    static double phi(double elapsed, double mean, double stdDev) {
        double y = (elapsed - mean) / stdDev;
        double e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
        if (elapsed > mean) {
            return -Math.log10(e / (1.0 + e));
        }
        return -Math.log10(1.0 - 1.0 / (1.0 + e));
    }

    private void record(long interval) {
        if (count == intervals.length) {
            long old = intervals[next];
            sum -= old;
            sumOfSquares -= (double) old * old;
        } else {
            count++;
        }
        intervals[next] = interval;
        sum += interval;
        sumOfSquares += (double) interval * interval;
        next = (next + 1) % intervals.length;
    }
}
