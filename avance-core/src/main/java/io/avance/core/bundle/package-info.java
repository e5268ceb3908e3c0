/**
 * The diagnostic bundle: one zip with logs, the audit journal, the configuration with secrets
 * removed, health and fault history, a metrics snapshot and thread dumps, for sites that allow
 * no remote access (written to a USB stick from the monitor or the command line) and for
 * call-home reports of critical problems.
 */
package io.avance.core.bundle;
