/**
 * Call home: warnings, faults and recovery actions sent as JSON over HTTPS to the vendor's
 * endpoint, from a persistent outbox in the data directory that survives restarts and network
 * outages. Delivery is at least once: each event carries an id the receiver de-duplicates on.
 * Critical events carry a diagnostic bundle.
 */
package io.avance.core.callhome;
