package io.avance.core.monitor;

import io.avance.core.availability.AvailabilityRecorder;
import io.avance.core.node.AvanceNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;

/**
 * What the monitor shows and acts on, supplied by the operations services that start it.
 * Implementations are thread-safe: the monitor calls them from its worker threads.
 */
public interface MonitorContext {

    /**
     * The node this monitor runs on.
     *
     * @return the node (started)
     */
    AvanceNode node();

    /**
     * The pair's measured availability.
     *
     * @return the recorder
     */
    AvailabilityRecorder availability();

    /**
     * The node's recent events.
     *
     * @return the list
     */
    RecentEvents events();

    /**
     * Writes a diagnostic bundle (a zip).
     *
     * @param out  where to write it; not closed
     * @param user who asked, for the journal
     * @throws IOException if it cannot be written
     */
    void writeBundle(OutputStream out, String user) throws IOException;

    /**
     * The node's metrics in the Prometheus text format.
     *
     * @return the text, or empty if the node's meter registry is not a Prometheus one
     */
    Optional<String> prometheusText();
}
