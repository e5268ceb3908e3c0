/**
 * E-mail alerts for what needs a person: a part to replace, a node declared down, a split
 * brain, a stalled resync, a VM that keeps failing. Sent over SMTP with Angus Mail (the
 * Jakarta Mail implementation), de-duplicated, with repeats gathered into a digest so that a
 * flapping link does not send a hundred mails.
 */
package io.avance.core.alert;
