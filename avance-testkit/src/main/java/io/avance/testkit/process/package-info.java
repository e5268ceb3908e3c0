/**
 * Real node processes for end-to-end tests and the demo.
 *
 * <p>{@link io.avance.testkit.process.NodeProcessMain} runs one node in its own JVM (the
 * production {@link io.avance.core.daemon.NodeMain}, with commands) and reports its events as
 * lines on standard output, with a timestamp from the machine's monotonic clock
 * (on Linux, {@code System.nanoTime()} reads {@code CLOCK_MONOTONIC}, which every process on the
 * machine shares, so times from different processes compare). It takes commands on standard
 * input and stops when standard input closes, so it never outlives the test that started it.
 * {@link io.avance.testkit.process.NodeProcess} starts one, reads its events, and kills it with
 * SIGKILL.
 */
package io.avance.testkit.process;
