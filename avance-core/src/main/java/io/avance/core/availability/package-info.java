/**
 * The measured availability of the pair: outages (intervals in which no node served) recorded
 * persistently in the data directory, and availability over 30 days and a year computed from
 * them. {@link io.avance.core.availability.AvailabilityRecorder} is fed an observation of the
 * pair a few times a second and keeps the record.
 */
package io.avance.core.availability;
