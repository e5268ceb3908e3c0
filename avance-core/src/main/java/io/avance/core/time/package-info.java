/**
 * Time as a parameter.
 *
 * <p>The engine never reads the system clock directly: it takes a {@link io.avance.core.time.NanoClock}
 * for intervals and deadlines and a {@link java.time.Clock} for the wall time written in journals
 * and events. Production code passes {@link io.avance.core.time.NanoClock#system()}; tests and
 * the deterministic simulation pass a {@link io.avance.core.time.ManualClock} and move it
 * themselves. (A checkstyle rule keeps {@code System.nanoTime()} out of this module.)
 */
package io.avance.core.time;
