package io.avance.api.replication;

/**
 * How far a resynchronisation has come.
 *
 * @param bytesTotal            the bytes that were out of sync when it started, plus any marked since
 * @param bytesDone             the bytes sent and acknowledged so far
 * @param rateBytesPerSecond    the recent transfer rate
 * @param etaNanos              estimated time to finish at that rate; -1 if unknown
 */
public record ResyncProgress(long bytesTotal, long bytesDone, long rateBytesPerSecond, long etaNanos) {

    /**
     * The fraction done.
     *
     * @return per cent done, from 0 to 100
     */
    public double percentDone() {
        return bytesTotal == 0 ? 100.0 : Math.min(100.0, 100.0 * bytesDone / bytesTotal);
    }
}
