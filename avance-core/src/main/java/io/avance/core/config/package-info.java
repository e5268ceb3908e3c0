/**
 * A node's validated configuration.
 *
 * <p>{@link io.avance.core.config.NodeConfig} is built in code (its builder) or read from a
 * {@code key = value} file ({@link io.avance.core.config.NodeConfigFile}); both paths validate
 * the same way, and every error is a {@link io.avance.core.config.ConfigException} that names
 * the key and the bad value. The file's keys are documented in the README.
 */
package io.avance.core.config;
