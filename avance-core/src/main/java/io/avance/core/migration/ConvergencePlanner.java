package io.avance.core.migration;

/**
 * Decides, after each pre-copy round, whether to go on copying while the guest runs or to pause it
 * and send the rest. Pure and thread-safe: everything it needs is an argument.
 *
 * <p>The rule: stop when the dirty pages left can be sent within the pause target at the bandwidth
 * the last round achieved (the pause is then about that long), or when the round limit is reached
 * (a guest that dirties memory faster than the link carries it never converges; pausing then costs
 * a longer pause, which is better than never finishing). A fraction of the pause target is kept
 * for the device state and the switch.
 */
public final class ConvergencePlanner {

    /** What to do next. */
    public enum Next {
        /** Send the dirty pages while the guest runs, then look again. */
        ANOTHER_ROUND,
        /** Pause the guest and send the rest. */
        STOP_AND_COPY
    }

    /** The share of the pause target the last pages may use; the rest is for device state and the switch. */
    static final double PAGE_SHARE = 0.6;

    private ConvergencePlanner() {
    }

    /**
     * Decides.
     *
     * @param dirtyPages      pages dirty now
     * @param pageSizeBytes   bytes per page
     * @param bytesPerSecond  the bandwidth measured over the last round (0 if unknown)
     * @param pauseTargetNanos the longest pause wanted
     * @param roundsDone      rounds completed, the full copy included
     * @param maxRounds       the most rounds before pausing anyway
     * @return what to do
     */
    public static Next decide(long dirtyPages, int pageSizeBytes, long bytesPerSecond, long pauseTargetNanos,
                              int roundsDone, int maxRounds) {
        if (roundsDone >= maxRounds) {
            return Next.STOP_AND_COPY;
        }
        if (dirtyPages == 0) {
            return Next.STOP_AND_COPY;
        }
        if (bytesPerSecond <= 0) {
            return Next.ANOTHER_ROUND;
        }
        double seconds = (double) dirtyPages * pageSizeBytes / bytesPerSecond;
        return seconds * 1e9 <= pauseTargetNanos * PAGE_SHARE ? Next.STOP_AND_COPY : Next.ANOTHER_ROUND;
    }

    /**
     * Estimates how long sending some pages takes.
     *
     * @param pages          the pages
     * @param pageSizeBytes  bytes per page
     * @param bytesPerSecond the bandwidth
     * @return nanoseconds, or {@link Long#MAX_VALUE} if the bandwidth is unknown
     */
    public static long sendNanos(long pages, int pageSizeBytes, long bytesPerSecond) {
        return bytesPerSecond <= 0 ? Long.MAX_VALUE : (long) ((double) pages * pageSizeBytes / bytesPerSecond * 1e9);
    }
}
