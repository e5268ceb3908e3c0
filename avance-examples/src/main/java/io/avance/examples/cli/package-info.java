/**
 * The {@code avance} command line: {@code avance demo} (the README's main job), {@code avance node}
 * (a real node from a configuration file) and {@code avance bench} (the measurements reported in
 * the README). Built as one runnable jar, {@code avance-examples/target/avance.jar}.
 */
package io.avance.examples.cli;
