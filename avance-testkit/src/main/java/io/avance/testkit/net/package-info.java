/**
 * Real network faults for end-to-end tests: a TCP proxy that sits on a link and can stall it
 * (a cut cable: bytes stop, connections stay open), reset it, or delay it.
 */
package io.avance.testkit.net;
