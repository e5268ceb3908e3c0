package io.avance.core.bundle;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Keeps the last log records of this process in memory for the diagnostic bundle, so a bundle
 * has the engine's log even where the embedding program logs only to a console. It hooks the
 * root {@code java.util.logging} logger, where {@link System.Logger} writes by default.
 * Thread-safe; {@link #close()} unhooks it.
 */
public final class LogBuffer extends Handler implements AutoCloseable {

    private final int capacity;
    private final Deque<String> lines = new ArrayDeque<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    private LogBuffer(int capacity) {
        this.capacity = capacity;
    }

    /**
     * Hooks a buffer to the root logger.
     *
     * @param capacity how many records to keep
     * @return the buffer
     */
    public static LogBuffer install(int capacity) {
        LogBuffer buffer = new LogBuffer(capacity);
        Logger.getLogger("").addHandler(buffer);
        return buffer;
    }

    @Override
    public void publish(LogRecord record) {
        String text;
        try {
            text = Instant.ofEpochMilli(record.getMillis()) + " " + record.getLevel() + " " + record.getLoggerName()
                    + ": " + formatter.formatMessage(record) + (record.getThrown() != null ? "\n  " + record.getThrown()
                    : "");
        } catch (RuntimeException e) {
            text = String.valueOf(record.getMessage());
        }
        synchronized (lines) {
            lines.addLast(text);
            while (lines.size() > capacity) {
                lines.removeFirst();
            }
        }
    }

    /**
     * The kept lines.
     *
     * @return oldest first
     */
    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(this);
    }
}
