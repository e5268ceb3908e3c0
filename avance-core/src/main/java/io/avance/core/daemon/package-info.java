/**
 * The node as a program: {@link io.avance.core.daemon.NodeMain} runs one node from its
 * configuration file until it is told to stop (SIGTERM, or {@code stop} on standard input), with
 * its operations services, printing its events as lines a supervisor or a test harness can read
 * ({@link io.avance.core.daemon.EventLines}). The {@code avance node} command and the Debian
 * package's {@code avance-node.service} run it; tests start it as a separate JVM.
 */
package io.avance.core.daemon;
