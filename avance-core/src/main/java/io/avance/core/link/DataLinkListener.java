package io.avance.core.link;

import io.avance.core.wire.Frame;

/**
 * What the private link's data channel tells the replication layer. Called on a Netty event loop;
 * implementations hand heavy work elsewhere and return quickly.
 */
public interface DataLinkListener {

    /** An authenticated data session is open. */
    void onDataSessionUp();

    /** The data session closed. */
    void onDataSessionDown();

    /**
     * A frame arrived. The listener owns it and must release it.
     *
     * @param frame the frame
     */
    void onDataFrame(Frame frame);

    /** The data session can take writes again after being full. */
    default void onDataWritable() {
    }
}
