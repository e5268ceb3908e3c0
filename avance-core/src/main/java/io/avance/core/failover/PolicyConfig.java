package io.avance.core.failover;

import io.avance.api.health.Component;
import io.avance.api.health.HealthScore;
import java.util.EnumSet;
import java.util.Set;

/**
 * The tunable parts of the default failover policy.
 *
 * @param healthMargin              how much healthier the backup must be before the VMs move to it
 * @param failoverHoldOffNanos      the least time between a role change and a graceful failover;
 *                                  with the margin, this is what stops roles ping-ponging on
 *                                  noisy health
 * @param rebootHoldOffNanos        the least time between two requests to reboot the backup
 * @param incidentWindowNanos       how far back backup incidents count toward its MTBF
 * @param backupMtbfThresholdNanos  a backup whose incidents come closer together than this on
 *                                  average is declared down instead of rebooted again
 * @param minIncidentsForMtbf       the fewest incidents before the MTBF estimate counts
 * @param vmRestartLimit            the most restarts of one VM within the supervisor's window
 * @param vmRestartBackoffNanos     the wait before the first restart of a crashed VM; it doubles
 *                                  with each recent restart
 * @param vmRestartBackoffMaxNanos  the longest wait before a restart
 * @param rebootableComponents      components whose critical fault on the backup a reboot may
 *                                  cure (rule 2); other backup faults are only reported
 */
public record PolicyConfig(int healthMargin, long failoverHoldOffNanos, long rebootHoldOffNanos,
                           long incidentWindowNanos, long backupMtbfThresholdNanos, int minIncidentsForMtbf,
                           int vmRestartLimit, long vmRestartBackoffNanos, long vmRestartBackoffMaxNanos,
                           Set<Component> rebootableComponents) {

    /**
     * Validates and copies the fields.
     *
     * @throws IllegalArgumentException if a value is out of range
     */
    public PolicyConfig {
        if (healthMargin < 0 || healthMargin > HealthScore.MAX) {
            throw new IllegalArgumentException("health margin must be 0-" + HealthScore.MAX + ", was " + healthMargin);
        }
        if (failoverHoldOffNanos < 0 || rebootHoldOffNanos < 0 || incidentWindowNanos <= 0
                || backupMtbfThresholdNanos <= 0 || vmRestartBackoffNanos < 0
                || vmRestartBackoffMaxNanos < vmRestartBackoffNanos) {
            throw new IllegalArgumentException("policy durations must be positive, and the maximum restart backoff"
                    + " at least the first");
        }
        if (minIncidentsForMtbf < 2 || vmRestartLimit < 0) {
            throw new IllegalArgumentException("an MTBF needs at least 2 incidents; the restart limit is not negative");
        }
        rebootableComponents = Set.copyOf(rebootableComponents);
    }

    /**
     * The defaults: margin 50; no graceful failover within a minute of the last role change; a
     * reboot request at most every 30 s; a backup with 3 or more incidents in an hour, less than
     * 10 minutes apart on average, is declared down; a crashed VM restarted after 1 s, then 2, 4
     * and so on up to a minute, at most 5 times; public network, private link and hypervisor
     * faults on the backup reboot it.
     *
     * @return the default configuration
     */
    public static PolicyConfig defaults() {
        long second = 1_000_000_000L;
        return new PolicyConfig(HealthScore.DEFAULT_MARGIN, 60 * second, 30 * second, 3600 * second,
                600 * second, 3, 5, second, 60 * second,
                EnumSet.of(Component.PUBLIC_NETWORK, Component.PRIVATE_LINK, Component.HYPERVISOR));
    }

    /**
     * A copy with other reboot timing, for products (and tests) that want faster reactions.
     *
     * @param holdOffNanos   the least time between reboot requests
     * @param windowNanos    how far back incidents count
     * @param thresholdNanos the MTBF below which the backup is declared down
     * @return the new configuration
     */
    public PolicyConfig withRebootTiming(long holdOffNanos, long windowNanos, long thresholdNanos) {
        return new PolicyConfig(healthMargin, failoverHoldOffNanos, holdOffNanos, windowNanos, thresholdNanos,
                minIncidentsForMtbf, vmRestartLimit, vmRestartBackoffNanos, vmRestartBackoffMaxNanos,
                rebootableComponents);
    }

    /**
     * A copy with another failover hold-off.
     *
     * @param holdOffNanos the least time between a role change and a graceful failover
     * @return the new configuration
     */
    public PolicyConfig withFailoverHoldOff(long holdOffNanos) {
        return new PolicyConfig(healthMargin, holdOffNanos, rebootHoldOffNanos, incidentWindowNanos,
                backupMtbfThresholdNanos, minIncidentsForMtbf, vmRestartLimit, vmRestartBackoffNanos,
                vmRestartBackoffMaxNanos, rebootableComponents);
    }
}
